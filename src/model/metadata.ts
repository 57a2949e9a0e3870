// Read an ONNX model's metadata_props straight from the file: onnxruntime-node does not expose them (and write a copy
// of the file with them edited).
// A minimal inline schema: ModelProto field 14 is `repeated StringStringEntryProto metadata_props`
// ({ key = 1; value = 2 }); protobufjs skips every other field (the graph, the weights) without decoding it.
import protobuf from 'protobufjs';

const METADATA_PROPS = 14;

const StringStringEntryProto = new protobuf.Type('StringStringEntryProto')
  .add(new protobuf.Field('key', 1, 'string'))
  .add(new protobuf.Field('value', 2, 'string'));

const ModelProto = new protobuf.Type('ModelProto')
  .add(new protobuf.Field('ir_version', 1, 'int64'))
  .add(new protobuf.Field('graph', 7, 'bytes')) // kept opaque: only its presence is checked
  .add(new protobuf.Field('metadata_props', METADATA_PROPS, 'StringStringEntryProto', 'repeated'))
  .add(StringStringEntryProto);

new protobuf.Root().define('onnx').add(ModelProto);

export interface OnnxFileInfo {
  irVersion: number;
  hasGraph: boolean;
  metadata: Record<string, string>;
}

/** Decode the ONNX model bytes' ir_version, graph presence and metadata_props. Throws on malformed protobuf. */
export function readOnnxMetadata(bytes: Uint8Array): OnnxFileInfo {
  const decoded = ModelProto.decode(bytes) as unknown as {
    ir_version?: number | { toNumber(): number };
    graph?: Uint8Array;
    metadata_props?: Array<{ key?: string; value?: string }>;
  };
  const metadata: Record<string, string> = {};
  for (const entry of decoded.metadata_props ?? []) {
    if (entry.key) metadata[entry.key] = entry.value ?? '';
  }
  const ir = decoded.ir_version;
  const irVersion = typeof ir === 'number' ? ir : ir ? ir.toNumber() : 0;
  return { irVersion, hasGraph: (decoded.graph?.length ?? 0) > 0, metadata };
}

/**
 * The same model file with its metadata_props rewritten by `edit` (given them as a plain object): every other field
 * is copied byte for byte, so the result is the same network. For the benchmark's and the tests' model variants.
 */
export function withEditedMetadata(model: Uint8Array, edit: (props: Record<string, string>) => void): Buffer {
  const reader = protobuf.Reader.create(model);
  const kept: Uint8Array[] = [];
  const props: Record<string, string> = {};
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === METADATA_PROPS) {
      const entry = protobuf.Reader.create(reader.bytes());
      let key = '';
      let value = '';
      while (entry.pos < entry.len) {
        const t = entry.uint32();
        if (t >>> 3 === 1) key = entry.string();
        else if (t >>> 3 === 2) value = entry.string();
        else entry.skipType(t & 7);
      }
      props[key] = value;
    } else {
      reader.skipType(tag & 7);
      kept.push(model.subarray(start, reader.pos));
    }
  }
  edit(props);
  const writer = protobuf.Writer.create();
  for (const [key, value] of Object.entries(props)) {
    writer
      .uint32((METADATA_PROPS << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string(key)
      .uint32((2 << 3) | 2)
      .string(value)
      .ldelim();
  }
  return Buffer.concat([...kept, writer.finish()]);
}
