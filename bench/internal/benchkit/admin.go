package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// AdminPut PUTs one JSON object to url (an admin API path on base) with
// the admin key, and fails on anything but 200/201: a write the admin API
// did not acknowledge must stop a benchmark, not count. Its errors do not
// name the object; the caller wraps them with that.
func AdminPut(ctx context.Context, hc *http.Client, url, key, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %.500s", resp.Status, b)
	}
	return nil
}
