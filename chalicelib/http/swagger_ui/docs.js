// Starts Swagger UI on the page GET /docs serves (chalicelib/docs_page.py). This is the
// project's own file, not a vendored one. It is a script file rather than inline script so
// the page's Content-Security-Policy can forbid inline scripts.
"use strict";

(function startSwaggerUi() {
  var root = document.getElementById("swagger-ui");
  // The page gives a relative URL ("openapi.json"). It resolves against the page, so it works
  // both under an API Gateway stage prefix (/api/docs -> /api/openapi.json) and under chalice
  // local (/docs -> /openapi.json).
  var specUrl = new URL(root.getAttribute("data-openapi-url"), document.baseURI).href;
  window.ui = SwaggerUIBundle({
    url: specUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    displayRequestDuration: true,
    // A token typed into "Authorize" lasts as long as the page; it is never written to storage.
    persistAuthorization: false,
    tryItOutEnabled: false,
    // No request to the public validator badge service: the page contacts this API only.
    validatorUrl: null,
  });
})();
