// Package mcpbridge connects in-process MCP servers, built with the
// official MCP Go SDK (github.com/modelcontextprotocol/go-sdk), to the
// claude CLI's mcp_message control requests: the CLI is the MCP client,
// each of its JSON-RPC messages is handed to a server session over the
// SDK's in-memory transport, and the session's response goes back as the
// control request's answer. The SDK does the JSON-RPC and the MCP protocol;
// this package only relays messages by id, cancels a call whose turn
// ended (a notifications/cancelled of the SDK's type), and runs each tool
// handler through the client's callback runner, recovered and bounded by
// its tool's timeout.
package mcpbridge
