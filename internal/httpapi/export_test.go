package httpapi

// AuditActions maps every audited route ("METHOD pattern") to its action,
// for tests.
func AuditActions() map[string]string {
	out := make(map[string]string, len(audited))
	for k, sp := range audited {
		out[k] = sp.action
	}
	return out
}

// ChangesState says whether a route changes state (and so is audited).
func ChangesState(method, path string) bool {
	return method != "GET" && !readOnlyPosts[method+" "+path]
}
