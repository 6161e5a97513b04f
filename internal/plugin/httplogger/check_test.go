package httplogger

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

func TestValidate(t *testing.T) {
	def, ok := plugin.Lookup(Name)
	if !ok {
		t.Fatal("not registered")
	}
	for _, c := range []struct {
		desc, conf, wantErr string
	}{
		{"minimal", `{"uri":"http://127.0.0.1:1980/log"}`, ""},
		{"full", `{"uri":"https://logs.test/x","auth_header":"a","timeout":1,"log_format":{"h":"$host"},"include_req_body":true,` +
			`"include_req_body_expr":[["arg_a","==","1"]],"include_resp_body":true,"include_resp_body_expr":[["status","==","200"]],` +
			`"concat_method":"new_line","ssl_verify":true,"name":"n","max_retry_count":2,"retry_delay":0,"buffer_duration":1,"inactive_timeout":1,"batch_max_size":1}`, ""},
		{"uri required", `{}`, "uri"},
		{"bad concat", `{"uri":"http://a","concat_method":"xml"}`, "concat_method"},
		{"bad request expr", `{"uri":"http://a","include_req_body_expr":[["arg_a","xx","1"]]}`,
			"failed to validate the 'include_req_body_expr' expression: "},
		{"bad response expr", `{"uri":"http://a","include_resp_body_expr":[["status","~~","("]]}`,
			"failed to validate the 'include_resp_body_expr' expression: "},
	} {
		t.Run(c.desc, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(c.conf))
			dec.UseNumber()
			var conf map[string]any
			if err := dec.Decode(&conf); err != nil {
				t.Fatal(err)
			}
			err := def.Validate(conf, plugin.SchemaRoute)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want it to mention %q", err, c.wantErr)
			case err == nil:
				if _, err := decode(conf); err != nil {
					t.Fatalf("factory: %v", err)
				}
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}
