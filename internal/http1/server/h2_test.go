package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Client is a raw HTTP/2 prior-knowledge client: it sends exactly the
// frames a test asks for (oversized headers, a closed window, a stalled
// body), which a real client library refuses to do.
type h2Client struct {
	t        *testing.T
	c        net.Conn
	fr       *http2.Framer
	settings map[http2.SettingID]uint32 // the server's first SETTINGS
}

func dialH2(t *testing.T, addr string, settings ...http2.Setting) *h2Client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &h2Client{t: t, c: c, fr: http2.NewFramer(c, c), settings: map[http2.SettingID]uint32{}}
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := c.Write(h2Preface); err != nil {
		t.Fatal(err)
	}
	if err := h.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	f := h.next(2 * time.Second)
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v, want the server's SETTINGS", f)
	}
	_ = sf.ForeachSetting(func(s http2.Setting) error { h.settings[s.ID] = s.Val; return nil })
	if err := h.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	return h
}

// next reads the next frame, failing the test after wait.
func (h *h2Client) next(wait time.Duration) http2.Frame {
	h.t.Helper()
	f, err := h.read(wait)
	if err != nil {
		h.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (h *h2Client) read(wait time.Duration) (http2.Frame, error) {
	_ = h.c.SetReadDeadline(time.Now().Add(wait))
	return h.fr.ReadFrame()
}

// headers sends a request's header block on stream id, split into
// HEADERS and CONTINUATION frames of at most 16 KiB.
func (h *h2Client) headers(id uint32, method, path string, endStream bool, extra ...string) {
	h.t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	fields := []string{":method", method, ":scheme", "http", ":authority", "h2.test", ":path", path}
	fields = append(fields, extra...)
	for i := 0; i < len(fields); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	block := buf.Bytes()
	first := true
	for first || len(block) > 0 {
		n := min(len(block), h2MaxFrameSize)
		chunk, last := block[:n], n == len(block)
		block = block[n:]
		var err error
		if first {
			err = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: chunk, EndStream: endStream, EndHeaders: last})
			first = false
		} else {
			err = h.fr.WriteContinuation(id, last, chunk)
		}
		if err != nil {
			h.t.Fatal(err)
		}
	}
}

// response reads frames until stream id ends, answering pings and
// skipping other streams' and connection frames. It returns the status
// and the body, or the RST_STREAM code if the server reset the stream.
func (h *h2Client) response(id uint32, wait time.Duration) (status string, body []byte, rst *http2.ErrCode) {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		f := h.next(time.Until(deadline))
		if f.Header().StreamID != id {
			continue
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "" {
				status = s
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			if len(f.Data()) > 0 {
				_ = h.fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				_ = h.fr.WriteWindowUpdate(id, uint32(len(f.Data())))
			}
			if f.StreamEnded() {
				return status, body, nil
			}
		case *http2.RSTStreamFrame:
			code := f.ErrCode
			return status, body, &code
		}
	}
}

// TestH2Settings: the server advertises the frame size and header list
// limits it enforces.
func TestH2Settings(t *testing.T) {
	addr, _ := start(t, echo, func(s *Server) { s.MaxHeaderBytes = 8 << 10 })
	h := dialH2(t, addr)
	if got := h.settings[http2.SettingMaxFrameSize]; got != h2MaxFrameSize {
		t.Errorf("SETTINGS_MAX_FRAME_SIZE %d, want %d", got, h2MaxFrameSize)
	}
	// x/net pads the HTTP/1.1 figure by 32 bytes for each of 10 fields.
	if got := h.settings[http2.SettingMaxHeaderListSize]; got != 8<<10+320 {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want %d", got, 8<<10+320)
	}
}

// TestH2HeaderLimit: the header cap applies to HTTP/2 as it does to
// HTTP/1.1: a header list over it gets 431 and the connection goes on;
// a single field longer than the whole cap is a COMPRESSION_ERROR for
// the connection (x/net's hpack decoder refuses the string), and never
// reaches the handler either.
func TestH2HeaderLimit(t *testing.T) {
	addr, _ := start(t, echo) // the default cap, 64 KiB
	h := dialH2(t, addr)
	fields := func(n, size int) (f []string) {
		for i := 0; i < n; i++ {
			f = append(f, fmt.Sprintf("x-big-%d", i), strings.Repeat("b", size))
		}
		return f
	}
	for _, c := range []struct {
		desc   string
		id     uint32
		fields []string
		status string
	}{
		{"10 KiB", 1, fields(1, 10<<10), "200"},
		{"5 x 15 KiB", 3, fields(5, 15<<10), "431"},
		{"none", 5, nil, "200"},
	} {
		h.headers(c.id, "GET", "/", true, c.fields...)
		status, _, rst := h.response(c.id, 3*time.Second)
		if rst != nil || status != c.status {
			t.Errorf("%s: status %q reset %v, want %s", c.desc, status, rst, c.status)
		}
	}

	h = dialH2(t, addr)
	h.headers(1, "GET", "/", true, fields(1, 70<<10)...)
	if code := h.goAway(); code != http2.ErrCodeCompression {
		t.Errorf("GOAWAY %v, want COMPRESSION_ERROR", code)
	}
}

// goAway reads frames until the server's GOAWAY and returns its code,
// failing the test if stream 1 is answered first.
func (h *h2Client) goAway() http2.ErrCode {
	h.t.Helper()
	for {
		f, err := h.read(3 * time.Second)
		if err != nil {
			h.t.Fatalf("no GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g.ErrCode
		}
		if _, ok := f.(*http2.MetaHeadersFrame); ok && f.Header().StreamID == 1 {
			h.t.Fatalf("the stream was answered: %v", f)
		}
	}
}

// TestH2FrameSize: a DATA frame over the advertised 16 KiB is a
// connection error, as RFC 9113 section 4.2 requires.
func TestH2FrameSize(t *testing.T) {
	addr, _ := start(t, echo)
	h := dialH2(t, addr)
	h.headers(1, "POST", "/", false)
	// The framer refuses to write what the peer would not accept, so
	// write the frame by hand: length 16385, type DATA, flags END_STREAM.
	n := h2MaxFrameSize + 1
	hdr := []byte{byte(n >> 16), byte(n >> 8), byte(n), 0x0, 0x1, 0, 0, 0, 1}
	if _, err := h.c.Write(append(hdr, make([]byte, n)...)); err != nil {
		t.Fatal(err)
	}
	if code := h.goAway(); code != http2.ErrCodeFrameSize {
		t.Errorf("GOAWAY %v, want FRAME_SIZE_ERROR", code)
	}
}

// TestH2WriteTimeout: a client that never opens its flow-control window
// has the stream reset after WriteTimeout, and the handler's write
// fails, instead of holding the handler for as long as the connection
// lives. A handler that pauses between writes for longer than the
// timeout is not cut off: only a write that waits counts.
func TestH2WriteTimeout(t *testing.T) {
	werr := make(chan error, 1)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		if r.URL.Path == "/pause" {
			w.Write(chunk)
			time.Sleep(600 * time.Millisecond)
			w.Write(chunk)
			return
		}
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		werr <- err
	}), func(s *Server) { s.WriteTimeout = 300 * time.Millisecond })

	t.Run("closed window", func(t *testing.T) {
		h := dialH2(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		t0 := time.Now()
		h.headers(1, "GET", "/", true)
		_, _, rst := h.response(1, 5*time.Second)
		if rst == nil || *rst != http2.ErrCodeInternal {
			t.Fatalf("stream ended with reset %v, want INTERNAL_ERROR", rst)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("reset after %v", d)
		}
		select {
		case err := <-werr:
			if err == nil {
				t.Error("the handler's writes succeeded")
			}
		case <-time.After(2 * time.Second):
			t.Error("handler still writing")
		}
	})
	t.Run("pause between writes", func(t *testing.T) {
		h := dialH2(t, addr)
		h.headers(1, "GET", "/pause", true)
		status, body, rst := h.response(1, 5*time.Second)
		if rst != nil || status != "200" || len(body) != 64<<10 {
			t.Errorf("status %q, %d bytes, reset %v", status, len(body), rst)
		}
	})
}

// TestH2BodyReadTimeout: each read of a request body waits at most
// BodyReadTimeout; a body that keeps coming, more slowly in total than
// the timeout, is read whole.
func TestH2BodyReadTimeout(t *testing.T) {
	type result struct {
		n   int
		err error
	}
	got := make(chan result, 1)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- result{len(b), err}
		if err != nil {
			w.WriteHeader(400)
		}
	}), func(s *Server) { s.BodyReadTimeout = 600 * time.Millisecond })

	t.Run("stalled", func(t *testing.T) {
		h := dialH2(t, addr)
		h.headers(1, "POST", "/", false)
		_ = h.fr.WriteData(1, false, []byte("hello"))
		select {
		case r := <-got:
			if !errors.Is(r.err, os.ErrDeadlineExceeded) {
				t.Errorf("read %d bytes, err %v; want a deadline error", r.n, r.err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("handler still reading a stalled body")
		}
	})
	t.Run("slow but steady", func(t *testing.T) {
		h := dialH2(t, addr)
		h.headers(1, "POST", "/", false)
		for i := 0; i < 6; i++ {
			time.Sleep(150 * time.Millisecond) // 900 ms in all
			_ = h.fr.WriteData(1, i == 5, []byte("hello"))
		}
		select {
		case r := <-got:
			if r.err != nil || r.n != 30 {
				t.Errorf("read %d bytes, err %v", r.n, r.err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("handler did not finish")
		}
		if status, _, rst := h.response(1, 3*time.Second); status != "200" || rst != nil {
			t.Errorf("status %q reset %v", status, rst)
		}
	})
}

// TestH2BodyReadAfterHandler: a request body may still be read after the
// handler returned (net/http's transport sending it on to a TLS upstream
// that answered early): the per-read deadlines stop with the handler, as
// x/net recycles its writer then. Before, such a read set a deadline on
// the recycled writer, a nil dereference that took down the process.
func TestH2BodyReadAfterHandler(t *testing.T) {
	done := make(chan error, 1)
	addr, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := make(chan struct{})
		go func() {
			// One read while the handler runs, the rest after it returned.
			_, err := io.ReadFull(r.Body, make([]byte, 5))
			close(first)
			if err == nil {
				time.Sleep(50 * time.Millisecond)
				_, err = io.Copy(io.Discard, r.Body)
			}
			done <- err
		}()
		<-first
		w.WriteHeader(http.StatusRequestEntityTooLarge) // answers before the rest is read
	}))
	h := dialH2(t, addr)
	h.headers(1, "POST", "/", false)
	for i := 0; i < 10; i++ {
		time.Sleep(20 * time.Millisecond)
		if err := h.fr.WriteData(1, i == 9, []byte("hello")); err != nil {
			break // the server reset the stream: fine
		}
	}
	select {
	case <-done: // the body ended (EOF or an error); no crash
	case <-time.After(3 * time.Second):
		t.Fatal("the body read after the handler returned never ended")
	}
}
