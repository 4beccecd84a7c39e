package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/privacy"
	"github.com/jifen/jifen/internal/store"
)

func (s *Server) registerPrivacy() {
	s.handle(route{method: "GET", path: "/v1/members/{member}/export", access: admin, tag: "members",
		summary: "Export every record that names a member (right of access), as a JSON attachment; the export is audited",
		out:     privacy.Export{}, status: 200, handler: s.exportMember})
}

// exportMember answers the member's export as an attachment, and records
// that it was taken (an export is personal data leaving the programme):
// the entry is committed before the data is sent.
func (s *Server) exportMember(w http.ResponseWriter, r *http.Request) error {
	x, err := s.app.Privacy.Export(r.Context(), actor(r), r.PathValue("member"))
	if err != nil {
		return err
	}
	out, err := marshal(x)
	if err != nil {
		return err
	}
	err = s.db.Write(r.Context(), x.Member.ID, func(ctx context.Context, tx *store.Tx) error {
		_, err := s.auditRecord(ctx, tx, r, nil, http.StatusOK, []byte(`{"id":"`+x.Member.ID+`"}`))
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="member_`+x.Member.ID+`.json"`)
	writeRaw(w, http.StatusOK, jsonType, out)
	return nil
}
