/**
 * The /docs page: Scalar's API reference over /openapi.json. Its script comes from a CDN at a pinned
 * version with Subresource Integrity, so a changed or compromised file is refused by the browser
 * instead of run on our origin. To upgrade: `npm pack @scalar/api-reference@<version>` and take the
 * sha384 of dist/browser/standalone.js (`openssl dgst -sha384 -binary … | base64`).
 */
export const SCALAR_VERSION = "1.76.0";
export const SCALAR_INTEGRITY = "sha384-oH1C0RwqcwbVXkC+r8A+4qRoyEUQdtxAzOwumkxZtQBBcsy61FOoPt7B50OVJYYQ";
export const SCALAR_SCRIPT = `https://cdn.jsdelivr.net/npm/@scalar/api-reference@${SCALAR_VERSION}/dist/browser/standalone.js`;

export function docsPage(options: { title: string; specUrl: string }): string {
  const config = JSON.stringify({ url: options.specUrl }).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
  <head>
    <title>${options.title}</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <div id="app"></div>
    <script src="${SCALAR_SCRIPT}" integrity="${SCALAR_INTEGRITY}" crossorigin="anonymous"></script>
    <script>Scalar.createApiReference("#app", ${config});</script>
  </body>
</html>
`;
}
