// A minimal protocol-buffers wire-format reader: just enough to walk a SentencePiece ModelProto.
// Every read is bounds-checked, so a truncated or corrupt file gets an NqFormatError naming where it
// broke instead of a RangeError (or a silent garbage value) from deep inside a DataView.

import { NqFormatError } from '@nq/core';

/** Protobuf wire types (the low 3 bits of a field key). */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

/** One field key: field number and wire type. */
export interface FieldKey {
  field: number;
  wireType: number;
}

// ignoreBOM: a piece may be U+FEFF itself (Llama-2 has one); the default decoder would strip it.
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Reads fields of one message from `bytes[start, end)`. Sub-messages get their own reader. */
export class ProtobufReader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** Name used in error messages (a file name, plus the message path being read). */
    readonly file: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True while fields remain in this message. */
  more(): boolean {
    return this.pos < this.end;
  }

  get offset(): number {
    return this.pos;
  }

  private fail(problem: string): never {
    throw new NqFormatError(this.file, `${problem} at byte ${this.pos} (corrupt or truncated protobuf)`);
  }

  /** Unsigned varint up to 2^53; longer (legal 64-bit) values are clamped, which no field we use needs. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('varint runs past the end of the message');
      const b = this.bytes[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /**
   * int32/enum fields: a varint holding the two's-complement 64-bit value (a negative int32 takes 10
   * bytes). Only the low 32 bits matter, so they are accumulated exactly with integer ops.
   */
  int32(): number {
    let low = 0;
    for (let i = 0, shift = 0; i < 10; i++, shift += 7) {
      if (this.pos >= this.end) this.fail('varint runs past the end of the message');
      const b = this.bytes[this.pos++] as number;
      if (shift < 32) low |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return low | 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  key(): FieldKey {
    const k = this.varint();
    const field = Math.floor(k / 8);
    const wireType = k & 7;
    if (field === 0) this.fail('field number 0');
    return { field, wireType };
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.fail('float32 runs past the end of the message');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** The [start, end) byte range of a length-delimited field, advancing past it. */
  lengthDelimited(): { start: number; end: number } {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start)
      this.fail(`length-delimited field of ${len} bytes exceeds the ${this.end - start} bytes left`);
    this.pos = start + len;
    return { start, end: start + len };
  }

  string(): string {
    const { start, end } = this.lengthDelimited();
    return utf8.decode(this.bytes.subarray(start, end));
  }

  bytesField(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.bytes.subarray(start, end);
  }

  /** A reader over an embedded message. */
  message(path: string): ProtobufReader {
    const { start, end } = this.lengthDelimited();
    return new ProtobufReader(this.bytes, `${this.file} (${path})`, start, end);
  }

  /** Skips one field's value of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        if (this.pos + 8 > this.end) this.fail('fixed64 runs past the end of the message');
        this.pos += 8;
        return;
      case WireType.LengthDelimited:
        this.lengthDelimited();
        return;
      case WireType.Fixed32:
        if (this.pos + 4 > this.end) this.fail('fixed32 runs past the end of the message');
        this.pos += 4;
        return;
      default:
        // Groups (3/4) are deprecated and never used by SentencePiece; 6/7 do not exist.
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  /** Throws unless the key's wire type is the one the schema says. */
  expect(key: FieldKey, wireType: number, name: string): void {
    if (key.wireType !== wireType) {
      this.fail(`field ${name} (#${key.field}) has wire type ${key.wireType}, expected ${wireType}`);
    }
  }
}
