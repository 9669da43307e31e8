import type * as http from "node:http"

/** The two API shapes the token proxy speaks: each caller gets its errors in its own. */
export type Dialect = "openai" | "anthropic"

const OPENAI_TYPE: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "invalid_request_error",
  403: "permission_error",
  404: "invalid_request_error",
  405: "invalid_request_error",
  409: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error"
}

const ANTHROPIC_TYPE: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  405: "invalid_request_error",
  409: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error"
}

/** Error codes OpenAI clients branch on; Anthropic has none beyond the type. */
export type ErrorCode =
  | "invalid_api_key"
  | "model_not_found"
  | "model_not_allowed"
  | "rate_limit_exceeded"
  | "insufficient_quota"
  | "invalid_json"
  | "request_too_large"
  | "unavailable"
  | "upstream_error"

export const errorBody = (dialect: Dialect, status: number, message: string, code: ErrorCode | null, requestId: string) =>
  dialect === "openai"
    ? {
        error: {
          message,
          type: code === "insufficient_quota" ? "insufficient_quota" : (OPENAI_TYPE[status] ?? "server_error"),
          param: null,
          code
        }
      }
    : { type: "error", error: { type: ANTHROPIC_TYPE[status] ?? "api_error", message }, request_id: requestId }

export interface ProxyFailure {
  readonly status: number
  readonly message: string
  readonly code: ErrorCode | null
  readonly retryAfterSeconds?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export const REQUEST_ID_HEADER = "x-clawfleet-request-id"

/** Answers with `failure` in the caller's dialect, unless the response has already begun. */
export const sendFailure = (res: http.ServerResponse, dialect: Dialect, requestId: string, failure: ProxyFailure) => {
  if (res.headersSent || res.destroyed) return
  const body = JSON.stringify(errorBody(dialect, failure.status, failure.message, failure.code, requestId))
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: requestId,
    ...failure.headers
  }
  if (failure.retryAfterSeconds !== undefined) headers["retry-after"] = String(failure.retryAfterSeconds)
  if (failure.status === 401 && dialect === "openai") headers["www-authenticate"] = 'Bearer realm="clawfleet"'
  res.writeHead(failure.status, headers)
  res.end(body)
}
