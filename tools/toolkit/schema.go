package toolkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/vmservice/vmservice/sandbox"
)

// Reflector reflects argument and result types into flat JSON schemas:
// no $ref, no $defs, embedded structs' fields at the top.
var Reflector = &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}

// schemaOf reflects v's type into a flat object schema.
func schemaOf(v any) json.RawMessage {
	s := Reflector.Reflect(v)
	s.Version = ""
	if s.Properties == nil || s.Properties.Len() == 0 {
		// An argument-less tool still declares an (empty) object.
		b, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false})
		return b
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("toolkit: schema of %T: %v", v, err))
	}
	return b
}

// ErrorCodes are the error_code values of an isError result, whose
// structuredContent is {error_code, message, details}: one shape for every
// tool, said once (the server's instructions, the README), not in each
// tool's output schema.
var ErrorCodes = sandbox.Codes

// outputSchemaOf describes R's structured content, leanly: each top-level
// field's type (and format, enum), nested objects and arrays by their type
// alone, no descriptions (the tool's description and its text block say
// what the fields mean), no required lists, no closed objects. An error
// result's {error_code, message, details} therefore validates too (the
// TypeScript SDK validates the structuredContent of error results against
// the output schema as well). Nil for a result of one or two fields (ok,
// window_id, path and size, ...): its text block says it all, and the
// structured content stays.
func outputSchemaOf(v any) json.RawMessage {
	var full map[string]any
	_ = json.Unmarshal(schemaOf(v), &full)
	props, _ := full["properties"].(map[string]any)
	if len(props) <= 2 {
		return nil
	}
	out := map[string]any{}
	for name, p := range props {
		out[name] = leanProperty(p)
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": out})
	return b
}

// leanProperty keeps what a client checks a value against at the top
// level: type, format, enum; a nullable field stays nullable.
func leanProperty(p any) map[string]any {
	m, _ := p.(map[string]any)
	out := map[string]any{}
	for _, k := range []string{"type", "format", "enum"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if l, ok := m[k].([]any); ok {
			var alts []any
			for _, a := range l {
				alts = append(alts, leanProperty(a))
			}
			out[k] = alts
		}
	}
	return out
}

// decodeArgs decodes tool arguments strictly (unknown fields are errors,
// as the schema says), with messages that name the field.
func decodeArgs(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case asType(err, &te):
			return sandbox.InvalidArgument(te.Field, "argument %s must be of JSON type %s", te.Field, te.Type.Kind())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return sandbox.InvalidArgument(f, "unknown argument %q", f)
		default:
			if se, ok := err.(*sandbox.Error); ok {
				return se
			}
			return sandbox.InvalidArgument("arguments", "arguments are not a valid JSON object: %s", err.Error())
		}
	}
	return nil
}

func asType[T error](err error, target *T) bool {
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}

// Bound sets integer property prop's minimum and maximum and fills {min}
// and {max} in its description: a limit is declared once, as the constant
// it is, and a JSONSchemaExtend method of the argument type refers to it
// (rather than a struct tag writing the number again).
func Bound(s *jsonschema.Schema, prop string, min, max int) {
	p := Property(s, prop)
	p.Minimum, p.Maximum = json.Number(strconv.Itoa(min)), json.Number(strconv.Itoa(max))
	Fill(s, prop, "min", min, "max", max)
}

// Fill replaces {name} in property prop's description with value, for
// each name, value pair.
func Fill(s *jsonschema.Schema, prop string, pairs ...any) {
	p := Property(s, prop)
	for i := 0; i+1 < len(pairs); i += 2 {
		p.Description = strings.ReplaceAll(p.Description, "{"+fmt.Sprint(pairs[i])+"}", fmt.Sprint(pairs[i+1]))
	}
}

// Property is s's property name; it panics when there is none (a
// declaration bug, found when the tools are built).
func Property(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties.Get(name)
	if !ok {
		panic("toolkit: no property " + name)
	}
	return p
}
