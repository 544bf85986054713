import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering

public struct SteeringVectorCommand: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "sv",
    abstract: "Train, check, import and export steering vectors (FSSV, PrOSV, llama.cpp control vectors).",
    subcommands: [Train.self, Evaluate.self, Gradient.self, Import.self, Export.self])

  public struct Train: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
      abstract: "Train a steering vector's α and v jointly against the response NLL of (instruction, output) pairs.",
      discussion: """
        Defaults follow the PrOSV paper: PrOSV p2+s2 with factor init 4, vector init 8, vector lr 0.04; \
        FSSV with factor init 2, factor lr 1, vector init 1. PrOSV's factor lr defaults to 1, not the paper's \
        10, which made SmolLM2-135M degenerate (pass --factor-lr 10 for the paper's value). α₀ = factor·√d and \
        v₀ ~ U(±vector-init/√d). The trained α is stored as is (no factor search).

        --objective simpo trains on preferences instead (SimPO, as RePS and the PrOSV code do): each line's \
        output is preferred to its `rejected` answer, or, where a line has none, to the model's own greedy \
        unsteered answer, generated first. Loss −log σ(β·s·ℓ̄(chosen) − β·ℓ̄(rejected) − γ), ℓ̄ the mean \
        log-likelihood per token; s = 1, or with --simpo-scaler c RePS's max(c·(R(rejected) − R(chosen)), 1).

        Examples:
          psr sv train --kind prosv --layer 10 --data experiments/data/axbench/concept10_2b_l20_train.jsonl \\
              --concept-id 0 --out rental.prosv.json
          psr sv train --kind fssv --layer 15 --data experiments/data/axbench/concept10_2b_l20_train.jsonl --concept-id 1 --epochs 4 --out v.json
          psr sv train --kind prosv --layer 15 --objective simpo --data experiments/data/axbench/concept10_2b_l20_train.jsonl \\
              --concept-id 0 --limit 8 --epochs 2 --max-response-tokens 32 --out rental.simpo.json
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "fssv or prosv.") public var kind: TrainableKind
    @Option(help: "Layer (0-based block output) to steer.") var layer: Int
    @Option(help: "Positions: all, response, pN, sN or pN+sM (default: p2+s2 for prosv, all for fssv).") public var positions: PositionSet?
    @Option(help: "JSON Lines with instruction and output; lines labelled other than positive are skipped.") var data: String
    @Option(name: .customLong("concept-id"), help: "Keep only lines with this concept_id (AxBench files).") var conceptID: Int?
    @Option(help: "Use at most this many examples.") var limit: Int?
    @Option(help: "Output steering file.") var out: String
    @Option(help: "Factor init β (α₀ = β·√d).") var factorInit: Float?
    @Option(name: .customLong("factor-lr"), help: "Learning rate of α.") var factorLR: Float?
    @Option(help: "Vector init λ (v₀ ~ U(±λ/√d)).") var vectorInit: Float?
    @Option(name: .customLong("vector-lr"), help: "Learning rate of v.") var vectorLR: Float?
    @Option(help: "Epochs.") var epochs: Int?
    @Option(help: "Examples per optimiser step.") var batchSize: Int?
    @Option(help: "Gradient-norm clip on v.") var clip: Float?
    @Option(help: "Response tokens per example at most.") var maxResponseTokens: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "lm (the response NLL) or simpo (preference over a rejected answer).") var objective: SteeringObjective = .lm
    @Option(name: .customLong("simpo-beta"), help: "SimPO's β.") var simpoBeta: Float = 1
    @Option(name: .customLong("simpo-gamma"), help: "SimPO's margin γ.") var simpoGamma: Float = 0
    @Option(name: .customLong("simpo-scaler"), help: "RePS's reference scaler c (default: none, plain SimPO).") var simpoScaler: Float?

    public func validate() throws {
      try Check.outputFile(out, "--out")
      try Check.finite(simpoBeta, "--simpo-beta", in: 0...1e6)
      try Check.finite(simpoGamma, "--simpo-gamma", in: -1e6...1e6)
      try Check.finite(simpoScaler, "--simpo-scaler", in: 0...1e6)
      if objective == .lm, simpoScaler != nil || simpoBeta != 1 || simpoGamma != 0 {
        throw ValidationError("--simpo-beta, --simpo-gamma and --simpo-scaler need --objective simpo")
      }
      try Check.atLeast(layer, 0, "--layer")
      try Check.atLeast(limit, 1, "--limit")
      try Check.finite(factorInit, "--factor-init")
      try Check.finite(factorLR, "--factor-lr", in: 0...10)
      try Check.finite(vectorInit, "--vector-init")
      try Check.finite(vectorLR, "--vector-lr", in: 0...10)
      try Check.within(epochs, 1...100_000, "--epochs")
      try Check.within(batchSize, 1...4096, "--batch-size")
      try Check.finite(clip, "--clip", in: 0...Float.greatestFiniteMagnitude)
      try Check.within(maxResponseTokens, 1...(1 << 20), "--max-response-tokens")
    }

    public func run() throws {
      let model = try modelOptions.load()
      let steeringKind = kind.steeringKind
      var o = SteeringVectorTrainingOptions.defaults(kind: steeringKind, layer: layer)
      if let positions { o.positions = positions }
      if let factorInit { o.factorInit = factorInit }
      if let factorLR { o.factorLearningRate = factorLR }
      if let vectorInit { o.vectorInit = vectorInit }
      if let vectorLR { o.vectorLearningRate = vectorLR }
      if let epochs { o.epochs = epochs }
      if let batchSize { o.batchSize = batchSize }
      if let clip { o.vectorGradientClip = clip }
      if let maxResponseTokens { o.maxResponseTokens = maxResponseTokens }
      o.seed = seed
      o.objective = objective
      o.simpo = SimPOParameters(beta: simpoBeta, gamma: simpoGamma, scaler: simpoScaler)
      var examples = try TrainingExample.load(jsonLines: data, conceptID: conceptID)
      if let limit { examples = Array(examples.prefix(limit)) }
      guard !examples.isEmpty else { throw CLIError("\(data) holds no usable example (instruction and output)") }
      let sequences = examples.map { $0.tokenized(for: model, maxResponseTokens: o.maxResponseTokens) }
      let trainer = try SteeringVectorTrainer(model: model, options: o)
      let base = try SteeringFile(kind: steeringKind, for: model)
      func file(_ v: AdditiveVector, epochs: Int) -> SteeringFile {
        var f = base
        f.vectors = [VectorEntry(layer: v.layer, positions: v.positions, alpha: v.alpha, vector: v.vector)]
        f.training = [
          "data": .string(data), "examples": .number(Double(sequences.count)), "epochs_done": .number(Double(epochs)),
          "factor_init": .number(Double(o.factorInit)), "factor_lr": .number(Double(o.factorLearningRate)),
          "vector_init": .number(Double(o.vectorInit)), "vector_lr": .number(Double(o.vectorLearningRate)),
          "batch_size": .number(Double(o.batchSize)), "clip": .number(Double(o.vectorGradientClip)),
          "seed": .string(String(o.seed)), "objective": .string(objective == .lm ? "lang" : "simpo"),
          "compute": .string(model.computePrecision.rawValue),
        ]
        if objective == .simpo {
          f.training["simpo_beta"] = .number(Double(simpoBeta))
          f.training["simpo_gamma"] = .number(Double(simpoGamma))
          if let simpoScaler { f.training["simpo_scaler"] = .number(Double(simpoScaler)) }
        }
        if let conceptID { f.training["concept_id"] = .number(Double(conceptID)) }
        return f
      }
      log("training \(kind.rawValue) at layer \(layer), positions \(o.positions), on \(sequences.count) examples, \(o.epochs) epochs")
      var lastEpochLoss: [Float] = []
      var pairs: [PreferencePair] = []
      if objective == .simpo {
        pairs = try TrainingExample.preferencePairs(examples, model: model, maxResponseTokens: o.maxResponseTokens) { done, total in
          log("rejected answers: \(done)/\(total) generated (the model's own, greedy)")
        }
        guard pairs.allSatisfy({ !$0.rejected.isEmpty }) else {
          throw CLIError("a rejected answer is empty (the model stopped at once, or a line's rejected is blank); drop that line")
        }
      }
      let started = Date()
      do {
        let progress: (TrainingProgress) -> Void = { p in
            lastEpochLoss.append(p.loss)
            let eta = ProgressBar.estimate(elapsed: Date().timeIntervalSince(started), done: p.step, resumed: 0, total: p.totalSteps)
            log(
              String(
                format: "epoch %d  step %d/%d  loss %.4f  alpha %.2f  %.0f tok/s  eta %@", p.epoch, p.step, p.totalSteps, p.loss, p.alpha,
                p.tokensPerSecond, eta.map(ProgressBar.clock) ?? "-:--"))
        }
        let checkpoint: (AdditiveVector, Int) throws -> Void = { v, epoch in try file(v, epochs: epoch).save(out) }
        if objective == .simpo {
          _ = try trainer.train(pairs: pairs, progress: progress, checkpoint: checkpoint)
        } else {
          _ = try trainer.train(sequences, progress: progress, checkpoint: checkpoint)
        }
      } catch let TrainingError.nonFinite(epoch, step, _) {
        throw CLIError("training diverged (NaN/inf) at epoch \(epoch), step \(step); \(out) holds the last completed epoch")
      }
      log("wrote \(out) (peak RSS \(peakResidentMegabytes()) MB)")
    }
  }

  public struct Evaluate: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
      commandName: "eval",
      abstract: "Mean response NLL of (instruction, output) pairs, unsteered and steered by a file.",
      discussion: "Example:\n  psr sv eval --steer rental.prosv.json --data examples/heldout.jsonl --json")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Steering file or llama.cpp/repeng control vector (GGUF).") var steer: String
    @Option(help: "JSON Lines with instruction and output.") var data: String
    @Option(help: "Response tokens per example at most.") var maxResponseTokens = 128
    @Flag(help: "Print one JSON object.") var json = false

    public func validate() throws {
      try Check.within(maxResponseTokens, 1...(1 << 20), "--max-response-tokens")
    }

    public func run() throws {
      let model = try modelOptions.load()
      let intervention = try SteeringFile.load(steer, for: model).intervention(for: model, file: steer)
      let sequences = try TrainingExample.load(jsonLines: data).map { $0.tokenized(for: model, maxResponseTokens: maxResponseTokens) }
      guard !sequences.isEmpty else { throw CLIError("\(data) holds no usable example (instruction and output)") }
      let plain = try model.meanResponseLoss(sequences)
      let steered = try model.meanResponseLoss(sequences, intervention: intervention)
      if json {
        print(try JSONText.encode(SteeredLoss(examples: sequences.count, nllUnsteered: Double(plain), nllSteered: Double(steered))))
      } else {
        print(String(format: "%d examples: NLL unsteered %.4f, steered %.4f", sequences.count, plain, steered))
      }
    }
  }

  public struct Gradient: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
      commandName: "grad",
      abstract: "Print loss and steering-vector gradients for reference cases, one JSON line each.",
      discussion: """
        Each input line holds prompt_ids, response_ids, layer, positions (all | pN+sM), alpha and v, as in \
        the reference grad.jsonl. Output: {"loss": …, "grad_alpha": …, "grad_v": [...]}.

        Example:
          psr sv grad --cases Tests/Fixtures/smollm2-135m-instruct-q4_1/grad.jsonl
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "JSON Lines of cases.") var cases: String

    public func run() throws {
      let model = try modelOptions.load()
      guard let text = try? String(contentsOfFile: cases, encoding: .utf8) else { throw CLIError("cannot read \(cases)") }
      struct Case: Decodable {
        var prompt_ids: [Int]
        var response_ids: [Int]
        var layer: Int
        var positions: String
        var alpha: Float
        var v: [Float]
      }
      for line in JSONLines.decode(Case.self, from: text) {
        let i = line.number - 1
        guard case .success(let o) = line.value else {
          throw CLIError("\(cases):\(i + 1): needs prompt_ids, response_ids, layer, positions, alpha, v")
        }
        let (prompt, response, layer, positions, alpha, v) = (o.prompt_ids, o.response_ids, o.layer, o.positions, o.alpha, o.v)
        guard v.count == model.configuration.modelDimension else {
          throw CLIError("\(cases):\(i + 1): v has \(v.count) values, the model needs \(model.configuration.modelDimension)")
        }
        guard (0..<model.configuration.layerCount).contains(layer), alpha.isFinite, v.allSatisfy(\.isFinite) else {
          throw CLIError("\(cases):\(i + 1): layer must be one of the model's and alpha and v finite")
        }
        let steering = AdditiveVector(layer: layer, alpha: alpha, vector: v, positions: try PositionSet(parsing: positions))
        let loss = try model.responseLoss(
          [TeacherForcedSequence(prompt: prompt, response: response)], intervention: steering, backward: true)
        print(try JSONText.encode(SteeringGradient(loss: loss, gradAlpha: steering.gradientAlpha, gradV: steering.gradientVector)))
      }
    }
  }

  public struct Import: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
      abstract: "Turn a llama.cpp or repeng control vector (GGUF) into a steering file for the model.",
      discussion: """
        Each direction.N becomes a vector added at every position after block N (0-based), as llama.cpp \
        applies it; the steering file records the model's fingerprint, so later commands refuse it on \
        another model. A direction whose size is not the model's dimension, or a layer the model does \
        not have, is an error. (Every command that takes --steer also reads the GGUF directly.)

        Example:
          psr sv import examples/evil.cvec.gguf --out evil.cvec.json
          psr generate --prompt "Hi" --steer evil.cvec.json --factor 2
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "Control vector (GGUF).") var file: String
    @Option(help: "Output steering file (default: the input with .json).") var out: String?

    public func run() throws {
      let model = try modelOptions.load()
      let steering: SteeringFile
      do { steering = try ControlVectorImport.steeringFile(path: file, for: model) } catch let error as CustomStringConvertible {
        throw CLIError("\(error)")
      }
      let path = out ?? (file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file) + ".json"
      try steering.save(path)
      let layers = steering.vectors.map { "\($0.layer)" }.joined(separator: ",")
      log("wrote \(path): \(steering.vectors.count) layer(s) (\(layers)) for \(steering.model.name)")
    }
  }
}

/// `sv eval --json`: the mean response NLL without and with the steering file.
struct SteeredLoss: Encodable {
  var examples: Int
  var nllUnsteered, nllSteered: Double
}

/// One `sv grad` line: the loss and its gradient w.r.t. α and v, as the reference grad.jsonl holds them.
struct SteeringGradient: Encodable {
  var loss: Float
  var gradAlpha: Float
  var gradV: [Float]
}
