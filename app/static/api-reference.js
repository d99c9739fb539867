// Starts Swagger UI on the API reference page (app/web/api_reference.py). A file, not an
// inline script, so the page keeps Vigil's Content-Security-Policy (script-src 'self').
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    persistAuthorization: false,
    defaultModelsExpandDepth: 1,
    validatorUrl: null
  });
})();
