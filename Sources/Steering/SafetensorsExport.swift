import Foundation
import LM

/// Export of any steering file as safetensors, for use outside this project (PyTorch:
/// scripts/apply_steering_torch.py).
///
/// Tensors (F32): per vector entry i, `vectors.i.v` [d] and `vectors.i.alpha` [] (the entry's α times
/// the file's α and the export factor); per gate entry j, `gates.j.w` [d], `gates.j.b` [],
/// `gates.j.z` [d] and `gates.j.alpha` [] (the file's α times the factor). `__metadata__` holds the
/// model fingerprint, the tokenizer and template names, `entries` (a JSON array, in the order of
/// application: {"tensors", "type", "layer", "positions"}) and `apply`, the rule in words.
public enum SafetensorsExport {
  public static let format = "psr-steering-safetensors"

  /// How to apply the tensors; the same sentence travels in every file.
  public static let rule = """
    Layer N is the residual stream after decoder block N (0-based; Hugging Face's hidden_states[N + 1], \
    the output of model.layers[N]). After block N, apply the entries of layer N in the order listed: a \
    vector entry adds alpha * v to the hidden state of each token in its positions (all: every token; \
    response: tokens after the prompt; pA+sB: the first A and the last B prompt tokens); a gate entry \
    adds alpha * max(0, dot(w, h) + b) * z to each response token's hidden state h (prompt tokens are \
    untouched), where h already holds the earlier entries' edits.
    """

  public static func writer(_ file: SteeringFile, factor: Float = 1) throws -> SafetensorsWriter {
    guard (file.projections ?? []).isEmpty else {
      throw SteeringFileError.notExportable("projection edits are not in the safetensors layout yet (apply_steering_torch.py has no hook for them)")
    }
    guard !file.vectors.isEmpty || !file.gates.isEmpty else { throw SteeringFileError.notExportable("the file holds no vectors or gates") }
    let scale = file.alpha * factor
    var w = SafetensorsWriter()
    var entries: [Entry] = []
    for (i, v) in file.vectors.enumerated() {
      w.addTensor("vectors.\(i).v", shape: [v.vector.count], values: v.vector)
      w.addTensor("vectors.\(i).alpha", shape: [], values: [v.alpha * scale])
      entries.append(Entry(tensors: "vectors.\(i)", type: .vector, layer: v.layer, positions: v.positions.description))
    }
    for (j, g) in file.gates.enumerated() {
      w.addTensor("gates.\(j).w", shape: [g.weight.count], values: g.weight)
      w.addTensor("gates.\(j).b", shape: [], values: [g.bias])
      w.addTensor("gates.\(j).z", shape: [g.direction.count], values: g.direction)
      w.addTensor("gates.\(j).alpha", shape: [], values: [scale])
      entries.append(Entry(tensors: "gates.\(j)", type: .gate, layer: g.layer, positions: "response"))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let entriesJSON = try encoder.encode(entries)
    let fields: [String: String] = [
      "format": format, "format_version": "1", "kind": file.kind.rawValue, "model_name": file.model.name,
      "model_sha256": file.model.sha256, "layer_count": "\(file.model.layerCount)",
      "model_dimension": "\(file.model.modelDimension)", "tokenizer": file.tokenizer, "chat_template": file.chatTemplate,
      "entries": String(decoding: entriesJSON, as: UTF8.self), "apply": rule,
    ]
    for (k, v) in fields { w.set(k, v) }
    return w
  }

  /// One entry of the `entries` metadata: the prefix of its tensors' names, what it is, its layer
  /// and the positions it edits.
  struct Entry: Encodable {
    enum Kind: String, Encodable {
      case vector, gate
    }
    var tensors: String
    var type: Kind
    var layer: Int
    var positions: String
  }
}
