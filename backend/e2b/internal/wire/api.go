// Package wire is the bodies of E2B's control-plane REST API (openapi.yml),
// shared by the backend's client and the test stand-in (e2btest) so the two
// cannot drift apart. envd's own API is internal/envd's.
package wire

import "time"

// APIKeyHeader carries the API key to the control plane.
const APIKeyHeader = "X-API-Key"

// HTTPError is the control plane's error body.
type HTTPError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// NewSandbox is the body of POST /sandboxes.
type NewSandbox struct {
	TemplateID          string            `json:"templateID"`
	Timeout             int               `json:"timeout,omitempty"`
	AutoPause           *bool             `json:"autoPause,omitempty"`
	Secure              *bool             `json:"secure,omitempty"`
	AllowInternetAccess *bool             `json:"allow_internet_access,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	EnvVars             map[string]string `json:"envVars,omitempty"`
}

// Sandbox is the answer of POST /sandboxes and /sandboxes/{id}/connect.
type Sandbox struct {
	TemplateID         string  `json:"templateID"`
	SandboxID          string  `json:"sandboxID"`
	Alias              string  `json:"alias,omitempty"`
	ClientID           string  `json:"clientID"`
	EnvdVersion        string  `json:"envdVersion"`
	EnvdAccessToken    string  `json:"envdAccessToken,omitempty"`
	TrafficAccessToken *string `json:"trafficAccessToken,omitempty"`
	Domain             *string `json:"domain,omitempty"`
}

// SandboxDetail is GET /sandboxes/{id}'s answer; ListedSandbox (GET
// /v2/sandboxes) has the same fields minus the token and domain.
type SandboxDetail struct {
	TemplateID          string            `json:"templateID"`
	Alias               string            `json:"alias,omitempty"`
	SandboxID           string            `json:"sandboxID"`
	ClientID            string            `json:"clientID"`
	StartedAt           time.Time         `json:"startedAt"`
	EndAt               time.Time         `json:"endAt"`
	EnvdVersion         string            `json:"envdVersion"`
	EnvdAccessToken     string            `json:"envdAccessToken,omitempty"`
	AllowInternetAccess *bool             `json:"allowInternetAccess,omitempty"`
	Domain              *string           `json:"domain,omitempty"`
	CPUCount            int               `json:"cpuCount"`
	MemoryMB            int               `json:"memoryMB"`
	DiskSizeMB          int               `json:"diskSizeMB"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	State               string            `json:"state"`
}

// TimeoutRequest is the body of POST /sandboxes/{id}/timeout and /connect.
type TimeoutRequest struct {
	Timeout int `json:"timeout"`
}
