// The WebAssembly build of flamecore.c, base64 (vite.config.ts compiles it).
declare module 'virtual:flamecore-wasm' {
  const base64: string;
  export default base64;
}
