package toolkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/vmservice/vmservice/sandbox"
)

// validator checks arguments against a tool's input schema. mcp-go's own
// WithInputSchemaValidation answers with a plain text error; doing it here
// gives the project's {error_code, message, details} shape and lets
// run_actions check each step against the schema of the tool it names.
type validator struct{ s *jsonschema.Schema }

var english = message.NewPrinter(language.English)

func compileSchema(name string, schema json.RawMessage) *validator {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		panic(fmt.Sprintf("toolkit: schema of %s: %v", name, err))
	}
	url := "mem:///vmservice/" + name + ".json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		panic(fmt.Sprintf("toolkit: schema of %s: %v", name, err))
	}
	s, err := c.Compile(url)
	if err != nil {
		panic(fmt.Sprintf("toolkit: schema of %s: %v", name, err))
	}
	return &validator{s: s}
}

// check validates raw JSON arguments; the error is INVALID_ARGUMENT naming
// the first bad field and listing every problem.
func (v *validator) check(raw json.RawMessage) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return sandbox.InvalidArgument("arguments", "arguments are not valid JSON")
	}
	if _, ok := doc.(map[string]any); !ok {
		return sandbox.InvalidArgument("arguments", "arguments must be a JSON object")
	}
	err = v.s.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return sandbox.InvalidArgument("arguments", "arguments do not match the tool's schema")
	}
	var problems []string
	field := ""
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := strings.Join(e.InstanceLocation, ".")
			if field == "" {
				field = loc
			}
			if loc == "" {
				loc = "arguments"
			}
			problems = append(problems, fmt.Sprintf("%s: %s", loc, e.ErrorKind.LocalizedString(english)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	if field == "" {
		field = "arguments"
	}
	return sandbox.InvalidArgument(field, "invalid arguments: %s", strings.Join(problems, "; ")).WithDetail("problems", problems)
}
