export { Reader, decode, type ReaderOptions } from "./reader.js";
export { Writer, encode } from "./writer.js";
export { MAX_VARINT, varintSize } from "./varint.js";
