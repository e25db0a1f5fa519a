/**
 * SVG → PNG at the edge: resvg compiled to WebAssembly (bundled as a module, so nothing is fetched at
 * run time) with the cards' own fonts, so a card draws the same here, in tests and in production.
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import resvgModule from "@resvg/resvg-wasm/index_bg.wasm";
import bold from "../../../assets/fonts/DejaVuSans-Bold-Latin.ttf";
import regular from "../../../assets/fonts/DejaVuSans-Latin.ttf";

export const CARD_FONT_FAMILY = "DejaVu Sans";

// Once per isolate: the module is compiled already; instantiating it takes a few milliseconds.
let ready: Promise<void> | undefined;
const fonts = [new Uint8Array(regular), new Uint8Array(bold)];

/** The PNG of an SVG, at the SVG's own size. */
export async function svgToPng(svg: string): Promise<Uint8Array<ArrayBuffer>> {
  ready ??= initWasm(resvgModule).catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  await ready;
  const renderer = new Resvg(svg, {
    font: { fontBuffers: fonts, loadSystemFonts: false, defaultFontFamily: CARD_FONT_FAMILY },
    fitTo: { mode: "original" },
  });
  try {
    const image = renderer.render();
    try {
      // A copy the Worker owns, outside the WebAssembly memory the renderer frees.
      return new Uint8Array(image.asPng());
    } finally {
      image.free();
    }
  } finally {
    renderer.free();
  }
}
