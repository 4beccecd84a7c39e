package httpapi

import (
	"context"
	"net/http"

	"github.com/jifen/jifen/internal/message"
	"github.com/jifen/jifen/internal/store"
)

// Channels, message templates and messages: all admin (a message log
// holds members' addresses; channels hold credentials).
func (s *Server) registerMessages() {
	s.handle(route{method: "POST", path: "/v1/channels", access: admin, tag: "messages", summary: "Create a channel (webhook, smtp, sms_http, sms_aliyun)",
		in: message.ChannelInput{}, out: message.Channel{}, status: 201, handler: s.createChannel})
	s.handle(route{method: "GET", path: "/v1/channels", access: admin, tag: "messages", summary: "List channels (secrets masked)",
		out: listBody[message.Channel]{}, status: 200, query: pageParams, handler: s.listChannels})
	s.handle(route{method: "GET", path: "/v1/channels/{id}", access: admin, tag: "messages", summary: "Read a channel (secrets masked)",
		out: message.Channel{}, status: 200, handler: s.getChannel})
	s.handle(route{method: "PATCH", path: "/v1/channels/{id}", access: admin, tag: "messages", summary: "Change a channel's name or settings",
		in: message.ChannelPatch{}, out: message.Channel{}, status: 200, handler: s.patchChannel})
	s.handle(route{method: "DELETE", path: "/v1/channels/{id}", access: admin, tag: "messages", summary: "Delete a channel",
		status: 204, handler: s.deleteChannel})
	s.handle(route{method: "POST", path: "/v1/channels/{id}/test", access: admin, tag: "messages", summary: "Send a test message now and log it",
		in: message.TestInput{}, out: message.Message{}, status: 200, handler: s.testChannel})

	s.handle(route{method: "POST", path: "/v1/message-templates", access: admin, tag: "messages", summary: "Create a message template",
		in: message.TemplateInput{}, out: message.Template{}, status: 201, handler: s.createMessageTemplate})
	s.handle(route{method: "GET", path: "/v1/message-templates", access: admin, tag: "messages", summary: "List message templates",
		out: listBody[message.Template]{}, status: 200, query: pageParams, handler: s.listMessageTemplates})
	s.handle(route{method: "GET", path: "/v1/message-templates/{id}", access: admin, tag: "messages", summary: "Read a message template",
		out: message.Template{}, status: 200, handler: s.getMessageTemplate})
	s.handle(route{method: "PATCH", path: "/v1/message-templates/{id}", access: admin, tag: "messages", summary: "Change a message template",
		in: message.TemplateInput{}, out: message.Template{}, status: 200, handler: s.patchMessageTemplate})
	s.handle(route{method: "DELETE", path: "/v1/message-templates/{id}", access: admin, tag: "messages", summary: "Delete a message template",
		status: 204, handler: s.deleteMessageTemplate})
	s.handle(route{method: "POST", path: "/v1/message-templates/{id}/render", access: admin, tag: "messages", summary: "Render a template for a member (changes nothing)",
		in: message.RenderInput{}, out: message.Rendered{}, status: 200, handler: s.renderTemplate})

	s.handle(route{method: "POST", path: "/v1/messages", access: admin, tag: "messages", summary: "Queue a message to a member",
		in: message.SendInput{}, out: message.Message{}, status: 202, handler: s.sendMessage})
	s.handle(route{method: "GET", path: "/v1/messages", access: admin, tag: "messages", summary: "The message log, newest first",
		out: listBody[message.Message]{}, status: 200,
		query:   append([]param{{name: "member"}, {name: "campaign_id"}, {name: "status", desc: "queued, sent, failed or suppressed"}}, pageParams...),
		handler: s.listMessages})
	s.handle(route{method: "GET", path: "/v1/messages/{id}", access: admin, tag: "messages", summary: "Read a message with its attempts",
		out: message.Message{}, status: 200, handler: s.getMessage})
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.ChannelInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "channels", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.CreateChannel(ctx, tx, actor(r), in)
	})
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	cs, next, err := s.app.Messages.Channels(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, cs, next)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := s.app.Messages.GetChannel(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, c)
}

func (s *Server) patchChannel(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.ChannelPatch](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, "channels", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.PatchChannel(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, "channels", func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Messages.DeleteChannel(ctx, tx, actor(r), id)
	})
}

// testChannel sends before its transaction (the precheck, which runs
// after the idempotency replay check), then logs the message in it: a
// repeated key replays the answer without sending again, and no write
// transaction waits on a mail server.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.TestInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	var sent store.Message
	return s.write(w, r, 200, "messages", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.RecordTest(ctx, tx, actor(r), sent)
	}, func(ctx context.Context) error {
		sent, err = s.app.Messages.TestSend(ctx, actor(r), id, in)
		return err
	})
}

func (s *Server) createMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.TemplateInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 201, "message-templates", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.CreateTemplate(ctx, tx, actor(r), in)
	})
}

func (s *Server) listMessageTemplates(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := s.app.Messages.Templates(r.Context(), actor(r), pg)
	if err != nil {
		return err
	}
	return list(w, ts, next)
}

func (s *Server) getMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.app.Messages.GetTemplate(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, t)
}

func (s *Server) patchMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.TemplateInput](s, w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.write(w, r, 200, "message-templates", func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.PatchTemplate(ctx, tx, actor(r), id, in)
	})
}

func (s *Server) deleteMessageTemplate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	return s.write(w, r, 204, "message-templates", func(ctx context.Context, tx *store.Tx) (any, error) {
		return nil, s.app.Messages.DeleteTemplate(ctx, tx, actor(r), id)
	})
}

func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.RenderInput](s, w, r)
	if err != nil {
		return err
	}
	out, err := s.app.Messages.Render(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return encode(w, 200, out)
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[message.SendInput](s, w, r)
	if err != nil {
		return err
	}
	return s.write(w, r, 202, in.Member, func(ctx context.Context, tx *store.Tx) (any, error) {
		return s.app.Messages.Send(ctx, tx, actor(r), in)
	})
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ms, next, err := s.app.Messages.List(r.Context(), actor(r), message.Filter{Member: q.Get("member"),
		CampaignID: q.Get("campaign_id"), Status: q.Get("status")}, pg)
	if err != nil {
		return err
	}
	return list(w, ms, next)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	m, err := s.app.Messages.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, 200, m)
}
