// Jifen's API reference: Swagger UI reading this server's /openapi.json.
// It lives in a file of its own because the page's Content-Security-Policy
// allows no inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  filter: true,
  // Tags start folded: a hundred operations open at once make Swagger UI
  // re-render without end (it never finishes drawing the list); a tag
  // opens on a click, and the filter box finds an operation by tag.
  docExpansion: "none",
  displayRequestDuration: true,
  // The default badge sends the document to validator.swagger.io.
  validatorUrl: null,
  // A key typed into "Authorize" stays in this tab, never in localStorage.
  persistAuthorization: false,
  // ?url=… and ?configUrl=… must not point the page at another document.
  queryConfigEnabled: false,
});
