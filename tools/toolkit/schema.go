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

// errorSchema describes the structuredContent of an isError result.
var errorSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"error_code":{"type":"string","enum":["INVALID_ARGUMENT","SANDBOX_NOT_FOUND","SANDBOX_CREATION_FAILED","QUOTA_EXCEEDED","AUTHENTICATION_FAILED","PERMISSION_DENIED","TIMEOUT","BACKEND_UNAVAILABLE","INTERNAL"]},` +
	`"message":{"type":"string"},"details":{"type":"object"}},"required":["error_code","message","details"],"additionalProperties":false}`)

// outputSchemaOf describes R's structured content or the error shape
// (clients such as the TypeScript SDK validate the structuredContent of
// error results too). The properties of both sit at the top, for clients
// that only read properties; anyOf requires one complete shape.
func outputSchemaOf(v any) json.RawMessage {
	var ok, e map[string]any
	_ = json.Unmarshal(schemaOf(v), &ok)
	_ = json.Unmarshal(errorSchema, &e)
	props, _ := ok["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	for k, p := range e["properties"].(map[string]any) {
		if _, taken := props[k]; !taken {
			props[k] = p
		}
	}
	okRequired, _ := ok["required"].([]any)
	if okRequired == nil {
		okRequired = []any{}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false,
		"anyOf": []any{map[string]any{"required": okRequired}, map[string]any{"required": e["required"]}}}
	if d, _ := ok["description"].(string); d != "" {
		out["description"] = d
	}
	b, _ := json.Marshal(out)
	return b
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
