package main

// roomkey-go-ref webhook-receive [PORT]: a webhook receiver on protocol's own
// webhook.ReceiveWebhookEvent (webhook.Receive, which reads the raw body, requires the
// Authorization header, looks the secret up by the token's iss, verifies the token with
// protocol's options and compares the body's digest in constant time; then protocol's own
// protojson reading of the event). See interop/README.md for the protocol all three receivers
// (Go, node/webhook-receive.mjs, python/webhook_receive.py) share.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/webhook"
)

// webhookRecord is one line on stdout per request: ok with the event's name, id and room
// name (null when it has no room), or not ok with the error that refused it.
type webhookRecord struct {
	OK    bool    `json:"ok"`
	Event *string `json:"event"`
	ID    *string `json:"id"`
	Room  *string `json:"room"`
	Error *string `json:"error"`
}

// lines writes one JSON value per line; handlers run concurrently, so writes are serialised.
type lines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (l *lines) write(v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enc.Encode(v); err != nil {
		fail("writing stdout: " + err.Error())
	}
}

func webhookReceive(args []string) error {
	port := "0"
	switch len(args) {
	case 0:
	case 1:
		if _, err := strconv.ParseUint(args[0], 10, 16); err != nil {
			return fmt.Errorf("PORT %q is not a TCP port (0 picks a free one)", args[0])
		}
		port = args[0]
	default:
		return errors.New("usage: roomkey-go-ref webhook-receive [PORT]")
	}
	// The credentials come from the environment, not the command line that ps shows.
	key, secret := os.Getenv("LIVEKIT_API_KEY"), os.Getenv("LIVEKIT_API_SECRET")
	if key == "" || secret == "" {
		return errors.New("set LIVEKIT_API_KEY and LIVEKIT_API_SECRET")
	}
	provider := auth.NewSimpleKeyProvider(key, secret)

	// Stop on SIGTERM (or ^C) and on EOF of stdin, the test's way of ending it without a
	// signal. Caught before the listening line, which tells the test that both work.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)

	// Loopback only: the tests' requests never leave the machine.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	out := &lines{enc: json.NewEncoder(os.Stdout)}
	out.write(map[string]string{"listening": "http://" + ln.Addr().String()})

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			message := "method " + r.Method + " is not POST"
			out.write(webhookRecord{Error: &message})
			http.Error(w, message, http.StatusMethodNotAllowed)
			return
		}
		event, err := webhook.ReceiveWebhookEvent(r, provider)
		if err != nil {
			message := describe(err)
			// Recorded before answering, so the record exists once the sender has its answer.
			out.write(webhookRecord{Error: &message})
			http.Error(w, message, http.StatusUnauthorized)
			return
		}
		name, id := event.GetEvent(), event.GetId()
		rec := webhookRecord{OK: true, Event: &name, ID: &id}
		if room := event.GetRoom(); room != nil {
			roomName := room.GetName()
			rec.Room = &roomName
		}
		out.write(rec)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, name)
	})
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()

	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-stop:
	case <-eof:
	case err := <-served:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return server.Shutdown(ctx)
}
