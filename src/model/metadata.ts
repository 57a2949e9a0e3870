// Read an ONNX model's metadata_props straight from the file: onnxruntime-node does not expose them.
// A minimal inline schema: ModelProto field 14 is `repeated StringStringEntryProto metadata_props`
// ({ key = 1; value = 2 }); protobufjs skips every other field (the graph, the weights) without decoding it.
import protobuf from 'protobufjs';

const StringStringEntryProto = new protobuf.Type('StringStringEntryProto')
  .add(new protobuf.Field('key', 1, 'string'))
  .add(new protobuf.Field('value', 2, 'string'));

const ModelProto = new protobuf.Type('ModelProto')
  .add(new protobuf.Field('ir_version', 1, 'int64'))
  .add(new protobuf.Field('graph', 7, 'bytes')) // kept opaque: only its presence is checked
  .add(new protobuf.Field('metadata_props', 14, 'StringStringEntryProto', 'repeated'))
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
