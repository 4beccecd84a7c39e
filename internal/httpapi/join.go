package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/jifen/jifen/internal/failure"
	"github.com/jifen/jifen/internal/input"
	"github.com/jifen/jifen/internal/join"
	"github.com/jifen/jifen/internal/store"
)

// One-step join: join links (admin and merchant keys, a merchant's own),
// their QR codes, and the two routes a shopper calls without a key.
func (s *Server) registerJoin() {
	s.handle(route{method: "POST", path: "/v1/join-links", access: operates, tag: "join", summary: "Create a join link (a QR code at a merchant)",
		in: join.LinkInput{}, out: join.Link{}, status: 201, handler: s.createJoinLink})
	s.handle(route{method: "GET", path: "/v1/join-links", access: operates, tag: "join", summary: "List join links (a merchant key: its own)",
		out: listBody[join.Link]{}, status: 200, query: pageParams, handler: s.listJoinLinks})
	s.handle(route{method: "GET", path: "/v1/join-links/{id}", access: operates, tag: "join", summary: "Read a join link",
		out: join.Link{}, status: 200, handler: s.getJoinLink})
	s.handle(route{method: "DELETE", path: "/v1/join-links/{id}", access: operates, tag: "join", summary: "Delete a join link: its QR code stops working",
		status: 204, handler: s.deleteJoinLink})
	qrSize := []param{{name: "size", desc: "pixels a side, 128–2048 (default 512)"}}
	s.handle(route{method: "GET", path: "/v1/join-links/{id}/qr.png", access: operates, tag: "join", summary: "The link's QR code as PNG (error correction M)",
		status: 200, query: qrSize, handler: s.joinLinkQR("png", "image/png")})
	s.handle(route{method: "GET", path: "/v1/join-links/{id}/qr.svg", access: operates, tag: "join", summary: "The link's QR code as SVG (error correction M)",
		status: 200, query: qrSize, handler: s.joinLinkQR("svg", "image/svg+xml")})
	s.handle(route{method: "POST", path: "/v1/join/otp", access: public, tag: "join", summary: "Send a one-time code to a shopper's phone (no key)",
		in: join.CodeInput{}, out: join.CodeSent{}, status: 202, handler: s.joinOTP})
	s.handle(route{method: "POST", path: "/v1/join/confirm", access: public, tag: "join", summary: "Join with the code: a member and a 2-hour member token (no key)",
		in: join.ConfirmInput{}, out: join.Joined{}, status: 201, handler: s.joinConfirm})
}

func (s *Server) createJoinLink(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[join.LinkInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "join", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Join.CreateLink(ctx, tx, actor(r), in)
	})
}

func (s *Server) listJoinLinks(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ls, next, err := s.app.Join.Links(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ls, next)
}

func (s *Server) getJoinLink(w http.ResponseWriter, r *http.Request) error {
	l, err := s.app.Join.GetLink(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, l)
}

func (s *Server) deleteJoinLink(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, "join", func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Join.DeleteLink(ctx, tx, actor(r), id)
	})
}

func (s *Server) joinLinkQR(format, contentType string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		size := 0
		if v := r.URL.Query().Get("size"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return failure.Field("size", "must be a whole number of pixels, %d to %d", join.QRMinSize, join.QRMaxSize)
			}
			if size = n; size == 0 {
				size = -1 // 0 is not a size: refused, not the default
			}
		}
		b, err := s.app.Join.QR(r.Context(), actor(r), r.PathValue("id"), format, size)
		if err != nil {
			return err
		}
		writeRaw(w, 200, contentType, b)
		return nil
	}
}

// joinActor makes the request act for the programme of the join link its
// body names (not_found when unknown or join is off), so that the write,
// its Idempotency-Key and the operation are that programme's.
func (s *Server) joinActor(r *http.Request, link string) (*http.Request, error) {
	a, err := s.app.Join.Program(r.Context(), link)
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), keyActor, a)), nil
}

func (s *Server) joinOTP(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[join.CodeInput](s, w, r)
	if err != nil {
		return err
	}
	if err := checkLink(in.Link); err != nil {
		return err
	}
	if r, err = s.joinActor(r, in.Link); err != nil {
		return err
	}
	ip := clientIP(r)
	return s.write(w, r, 202, "join", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Join.SendCode(ctx, tx, actor(r), in, ip)
	})
}

// joinConfirm counts the try in a transaction of its own first (after an
// Idempotency-Key's replay check), so a wrong code's try stays counted.
func (s *Server) joinConfirm(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[join.ConfirmInput](s, w, r)
	if err != nil {
		return err
	}
	if err := checkLink(in.Link); err != nil {
		return err
	}
	if r, err = s.joinActor(r, in.Link); err != nil {
		return err
	}
	return s.write(w, r, 201, "join", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Join.Confirm(ctx, tx, actor(r), in)
	}, func(ctx context.Context) error {
		return s.app.Join.Try(ctx, actor(r), in)
	})
}

func checkLink(link string) error {
	var fs failure.Fields
	input.Required(&fs, "link", link != "", "a join link ID")
	return fs.Err()
}
