export { contentSecurityPolicy, Html, html, securityHeaders } from "./html.ts"
export { makeWebPages, type WebPagesOptions, type WebPagesServices } from "./WebPages.ts"
