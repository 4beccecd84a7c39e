package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/store"
)

// authenticateSigned checks a signed request (docs/security.md), in the
// contract's order: the header's form, its key, its time, its signature
// over the raw body (read here, once, and kept for the handler), and
// last its nonce, recorded in the database that every node shares.
func (s *Server) authenticateSigned(w http.ResponseWriter, r *http.Request, params string) (auth.Actor, error) {
	sig, err := auth.ParseSignature(params)
	if err != nil {
		return auth.Actor{}, failure.New(failure.BadSignature, "%s", err.Error())
	}
	a, pub, err := s.auth.AuthenticateSigned(r.Context(), sig.KeyID)
	if failure.KindOf(err) == failure.NotFound {
		return auth.Actor{}, errUnauthenticated("no key " + sig.KeyID + " signs requests")
	}
	if err != nil {
		return auth.Actor{}, err
	}
	if !sig.Fresh(s.clock.Now()) {
		return auth.Actor{}, failure.New(failure.StaleRequest, "ts is more than %d seconds from the server's time, %d",
			int64(auth.SignatureWindow.Seconds()), s.clock.Now().Unix())
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return auth.Actor{}, err
	}
	if !sig.Verify(pub, r.Method, requestTarget(r), body) {
		return auth.Actor{}, failure.New(failure.BadSignature, "the signature does not match the request")
	}
	var fresh bool
	err = s.db.Write(r.Context(), "nonce:"+sig.KeyID, func(ctx context.Context, tx *store.Tx) (err error) {
		fresh, err = tx.InsertNonce(ctx, sig.KeyID, sig.Nonce, s.clock.Now())
		return err
	})
	if err != nil {
		return auth.Actor{}, err
	}
	if !fresh {
		return auth.Actor{}, failure.New(failure.ReplayedRequest, "nonce %s was used before; sign a retry anew with a new nonce", sig.Nonce)
	}
	return a, nil
}

// requestTarget is the path and query as on the request line.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}
