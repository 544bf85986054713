import Foundation
import LM
import Store

/// Progress of a capture, after each batch.
public struct CaptureProgress: Sendable {
  public var examplesDone: Int
  public var examplesTotal: Int
  public var tokensDone: Int
  public var tokensPerSecond: Double
}

/// Runs prompted and unprompted passes over the same responses and writes, per response
/// token and layer, base = h_l(x y′) and delta = h_l(x′ y′) − h_l(x y′).
///
/// Example e (instruction e / K, sample e % K) samples y′ from its own random stream
/// (seed, e), so a resumed run writes exactly what an uninterrupted one would.
public struct ActivationCapture {
  public let model: DecoderModel
  public let options: CaptureOptions

  public init(model: DecoderModel, options: CaptureOptions) throws {
    if options.promptPosition == .system && !model.chatTemplate.hasSystemRole {
      throw ChatTemplateError.noSystemRole(model.chatTemplate.identifier)
    }
    for l in options.layers where !(0..<model.configuration.layerCount).contains(l) {
      throw CaptureError.layerOutOfRange(l, layerCount: model.configuration.layerCount)
    }
    self.model = model
    self.options = options
  }

  /// The file header this capture writes.
  public func header(toolVersion: String) throws -> ActivationHeader {
    let f = try model.fingerprint
    return ActivationHeader(
      modelName: f.name, modelSHA256: f.sha256, layerCount: f.layerCount, modelDimension: f.modelDimension,
      steeringPrompt: options.steeringPrompt, promptPosition: options.promptPosition.rawValue,
      chatTemplateID: model.chatTemplate.identifier, seed: options.seed,
      created: ISO8601DateFormatter().string(from: Date()), toolVersion: toolVersion, layers: options.layers,
      steeringPromptPerExample: options.steeringPromptPerExample, compute: model.computePrecision.rawValue)
  }

  /// Examples to capture: each input once when it has an output, else `samples` times.
  public func plan(_ inputs: [CaptureInput]) -> [(input: CaptureInput, index: Int)] {
    var plan: [(CaptureInput, Int)] = []
    for input in inputs {
      for _ in 0..<(input.output == nil ? max(1, options.samples) : 1) { plan.append((input, plan.count)) }
    }
    return plan
  }

  /// Captures every planned example from `writer.exampleCount` on, appending each as it
  /// completes. Stops early (between batches) when `shouldStop` returns true.
  public func run(
    _ inputs: [CaptureInput], into writer: ActivationWriter, shouldStop: () -> Bool = { false },
    progress: (CaptureProgress) -> Void = { _ in }
  ) throws {
    let plan = plan(inputs)
    if writer.exampleCount > plan.count {
      throw CaptureError.inputsChanged(path: writer.path, example: plan.count)
    }
    var done = writer.exampleCount
    var tokens = 0
    let start = Date()
    // Batches keep the uninterrupted run's boundaries: a batch's numbers depend on its
    // companions, so an interruption inside one (a full disk) recomputes it whole and appends
    // only the examples not yet committed.
    var batchStart = done - done % options.batchSize
    while done < plan.count && !shouldStop() {
      let batch = Array(plan[batchStart..<min(plan.count, batchStart + options.batchSize)])
      let captured = try capture(batch.map(\.input), indices: batch.map(\.index))
      for example in captured.dropFirst(done - batchStart) {
        try writer.append(example)
        tokens += example.tokens.count
      }
      done = batchStart + batch.count
      batchStart = done
      progress(
        CaptureProgress(
          examplesDone: done, examplesTotal: plan.count, tokensDone: tokens,
          tokensPerSecond: Double(tokens) / max(1e-9, Date().timeIntervalSince(start))))
    }
  }

  /// Captures a batch: samples the missing responses from the prompted model, then
  /// teacher-forces every response after x′ and after x in one packed pass.
  public func capture(_ inputs: [CaptureInput], indices: [Int]) throws -> [CapturedExample] {
    if !options.steeringPromptPerExample, let own = inputs.first(where: { $0.steeringPrompt != nil }) {
      throw CaptureError.perExamplePromptNotRecorded(instruction: own.instruction)
    }
    let pairs = inputs.map {
      model.promptPair(
        instruction: $0.instruction, steeringPrompt: $0.steeringPrompt ?? options.steeringPrompt, position: options.promptPosition)
    }
    var responses: [[Int]] = inputs.map {
      $0.output.map { Array(model.tokenizer.encode($0, parseSpecial: false).prefix(options.maxNewTokens)) } ?? []
    }
    let toSample = inputs.indices.filter { inputs[$0].output == nil }
    if !toSample.isEmpty {
      let generated = try model.generate(
        prompts: toSample.map { pairs[$0].prompted },
        options: GenerationOptions(
          maxNewTokens: options.maxNewTokens, sampling: SamplingParameters(temperature: options.temperature, seed: options.seed)),
        streams: toSample.map { indices[$0] })
      for (i, g) in zip(toSample, generated) { responses[i] = g.ids }
    }
    // A response needs at least one token to be recorded.
    let kept = inputs.indices.filter { !responses[$0].isEmpty }
    var chunks: [ForwardChunk] = []
    for i in kept {
      for prompt in [pairs[i].prompted, pairs[i].unprompted] {
        let tokens = prompt + responses[i]
        chunks.append(ForwardChunk(tokens: tokens, cache: model.makeCache(capacity: tokens.count), promptLength: prompt.count))
      }
    }
    guard !chunks.isEmpty else { return [] }
    let recorder = LayerRecorder(layers: Set(options.layers))
    try model.forward(chunks, logits: .none, intervention: recorder)
    let d = model.configuration.modelDimension
    var examples: [CapturedExample] = []
    var rowStart = 0
    for (k, i) in kept.enumerated() {
      let promptedRows = rowStart + pairs[i].prompted.count
      let unpromptedStart = rowStart + chunks[2 * k].tokens.count
      let unpromptedRows = unpromptedStart + pairs[i].unprompted.count
      let t = responses[i].count
      var base: [Int: [Float]] = [:]
      var delta: [Int: [Float]] = [:]
      for l in options.layers {
        let states = recorder.states[l]!
        let b = Array(states[(unpromptedRows * d)..<((unpromptedRows + t) * d)])
        let p = states[(promptedRows * d)..<((promptedRows + t) * d)]
        let difference = zip(p, b).map { $0 - $1 }
        // What is written must be finite (a NaN in p reaches the difference; two huge states can
        // overflow it): such rows would only fail later, in every fit that reads them.
        guard b.allSatisfy(\.isFinite), difference.allSatisfy(\.isFinite) else {
          throw CaptureError.nonFiniteActivation(layer: l, instruction: inputs[i].instruction)
        }
        base[l] = b
        delta[l] = difference
      }
      examples.append(
        CapturedExample(
          instruction: inputs[i].instruction, response: Self.storable(model.tokenizer.decode(responses[i], skipSpecial: true)),
          tokens: responses[i].map(Int32.init), base: base, delta: delta,
          steeringPrompt: options.steeringPromptPerExample ? inputs[i].steeringPrompt ?? options.steeringPrompt : nil))
      rowStart = unpromptedStart + chunks[2 * k + 1].tokens.count
    }
    return examples
  }
}

extension ActivationCapture {
  /// The response's text as the file stores it: HDF5's strings end at a NUL byte, so a NUL that
  /// the model generated (a byte token a random or small model can sample) is written as U+FFFD
  /// instead of failing the capture; `tokens/id` keeps the exact tokens.
  static func storable(_ text: String) -> String {
    text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
  }
}
