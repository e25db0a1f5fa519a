/** Non-code modules the Worker imports; wrangler.toml's [[rules]] and wrangler's defaults bundle them. */

/** A WebAssembly module, compiled when the Worker is loaded (wrangler's CompiledWasm rule). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

/** A font file's bytes (the Data rule for **\/*.ttf in wrangler.toml). */
declare module "*.ttf" {
  const data: ArrayBuffer;
  export default data;
}
