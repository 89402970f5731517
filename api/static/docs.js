// Swagger UI for /openapi.json, from the copy shipped in /static/swagger-ui (no CDN). A file
// rather than an inline script, so that the Content-Security-Policy can forbid inline code.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  deepLinking: true,
  // Swagger UI would otherwise show a badge loaded from validator.swagger.io.
  validatorUrl: null,
});
