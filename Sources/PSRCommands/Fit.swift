import ArgumentParser
import CLICommon
import Foundation
import LM
import PSR
import Steering
import Store

public struct Fit: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Fit Prompt Steering Replacement gates (and the DiffMean / Const-MSE baselines) to a capture.",
    discussion: """
      PSR at layer l: h ← h + α·λ(h)·z with λ(h) = ReLU(w·h + b), at response and generated tokens.

      --variant single --objective mse (S-PSR) fits one layer to the captured deltas from the HDF5 file alone, \
      and prints train/validation relative MSE ‖pred − Δ‖²/‖Δ‖² for PSR, Const-MSE and DiffMean, and the \
      fraction of validation tokens whose gate is exactly 0. It also writes OUT.diffmean.json and \
      OUT.const-mse.json. --variant all (A-PSR) or --objective ll trains all chosen layers through the model. \
      --objective mse-through is the PSR paper's S-PSR objective: the gate at the layer is trained through the \
      frozen model so that the states at that layer and every later one match the prompted ones (relative MSE \
      per layer, summed), plus 0.1·max(0, 1 − Σₜλₜ) per example against a dead gate; it prints the validation \
      MSE at every layer it covers and needs a capture of those layers (capture --all-layers).

      Examples:
        psr fit --data run.h5 --layer 15 --out pirate.psr
        psr fit --data run.h5 --layer 15 --out pirate.psr --json
        psr fit --data all.h5 --layers 5,10,15,20 --variant all --objective mse --out pirate-all.psr
        psr fit --data run.h5 --layers 15 --objective ll --out pirate-ll.psr
        psr fit --data all.h5 --layers 15 --objective mse-through --epochs 1 --out pirate-through.psr
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Capture file (HDF5) from the capture command.") var data: String
  @Option(help: "The layer to fit (S-PSR).") var layer: Int?
  @Option(help: "Layers to fit, comma-separated (A-PSR, LL).") var layers: String?
  @Option(
    help:
      "mse (at the fitted layers), ll (the prompted responses' likelihood) or mse-through (the PSR paper's S-PSR objective: MSE at the layer and every later one, through the model, with a dead-gate regulariser; needs a capture of those layers, e.g. --all-layers)."
  ) public var objective = PSRObjective.mse
  @Option(help: "single (one layer, from the file) or all (the chosen layers through the model).") var variant = FitVariant.single
  @Option(help: "Output steering file.") var out: String
  @Option(help: "Fraction of examples held out for validation.") var validationFraction = 0.2
  @Option(help: "Epochs.") var epochs: Int?
  @Option(help: "Adam learning rate.") var learningRate: Float?
  @Option(help: "Weight decay on w.") var weightDecay: Float = 0
  @Flag(help: "Turn off the max(0, 1 − Σλ) regulariser against dead gates.") var noRegulariser = false
  @Option(help: "Early-stopping patience in epochs (0: off).") var patience = 10
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Flag(help: "Print the summary as one JSON object.") var json = false

  public func validate() throws {
    if (layer == nil) == (layers == nil) { throw ValidationError("pass --layer L or --layers L,…") }
    try Check.atLeast(layer, 0, "--layer")
    if let layers { _ = try Check.integers(layers, "--layers") }
    if !(0..<1).contains(validationFraction) { throw ValidationError("--validation-fraction must be in [0, 1)") }
    try Check.within(epochs, 1...100_000, "--epochs")
    try Check.finite(learningRate, "--learning-rate", in: Float.leastNonzeroMagnitude...10)
    try Check.finite(weightDecay, "--weight-decay", in: 0...1_000)
    try Check.atLeast(patience, 0, "--patience")
    if variant == .single && objective == .mse && (layers.map { (try? Check.integers($0, "--layers"))?.count ?? 0 } ?? 1) != 1 {
      throw ValidationError("S-PSR fits one layer; use --variant all for several")
    }
    try Check.outputFile(out, "--out")
  }

  private var layerList: [Int] {
    if let layer { return [layer] }
    return (try? Check.integers(layers!, "--layers")) ?? []
  }

  public func run() throws {
    let reader: ActivationReader
    do { reader = try ActivationReader(path: data) } catch { throw CLIError("\(error)") }
    for l in layerList where !reader.header.layers.contains(l) {
      throw CLIError("\(data) holds layers \(reader.header.layers), not \(l); capture it with --layers")
    }
    guard reader.exampleCount > 0, reader.tokenCount > 0 else {
      throw CLIError("\(data) holds no complete example to fit on (n_examples is \(reader.exampleCount))")
    }
    if variant == .single && objective == .mse {
      try fitSingle(reader)
    } else {
      try fitThroughModel(reader)
    }
  }

  private func fingerprint(_ h: ActivationHeader) -> ModelFingerprint {
    ModelFingerprint(name: h.modelName, sha256: h.modelSHA256, layerCount: h.layerCount, modelDimension: h.modelDimension)
  }

  private func steeringFile(_ kind: SteeringKind, _ reader: ActivationReader) -> SteeringFile {
    var f = SteeringFile(
      kind: kind, model: fingerprint(reader.header), tokenizer: "as captured", chatTemplate: reader.header.chatTemplateID)
    f.training = [
      "data": .string(data), "steering_prompt": .string(reader.header.steeringPrompt), "objective": .string(objective.rawValue),
      "variant": .string(variant.rawValue), "seed": .string(String(seed)),  // a Double would round seeds above 2⁵³
      "compute": .string(reader.header.compute),  // the capture's products
    ]
    return f
  }

  private func fitSingle(_ reader: ActivationReader) throws {
    let layerData = try CapturedLayer(reader: reader, layer: layerList[0], validationFraction: validationFraction, seed: seed)
    var options = PSRFitOptions()
    if let epochs { options.epochs = epochs }
    if let learningRate { options.learningRate = learningRate }
    options.weightDecay = weightDecay
    options.deadGateRegulariser = !noRegulariser
    options.patience = patience
    options.seed = seed
    let (gate, summary) = SinglePSRFit(data: layerData, options: options).fit { epoch, train, validation in
      if !json { log(String(format: "epoch %3d  train %.4f  validation rel-MSE %.4f", epoch, train, validation)) }
    }
    var psr = steeringFile(.psr, reader)
    psr.gates = [gate]
    psr.training["val_rel_mse"] = .number(summary.validationRelativeMSE.psr)
    psr.training["gate_zero_fraction"] = .number(summary.gateZeroFraction)
    try psr.save(out)
    let stem = out.hasSuffix(".psr") || out.hasSuffix(".json") ? String(out[..<out.lastIndex(of: ".")!]) : out
    for (kind, vector) in [
      (SteeringKind.diffmean, ConstantBaselines.diffMean(layerData)), (.constMSE, ConstantBaselines.constMSE(layerData)),
    ] {
      var f = steeringFile(kind, reader)
      f.vectors = [VectorEntry(layer: layerData.layer, positions: .all, alpha: 1, vector: vector)]
      try f.save("\(stem).\(kind.rawValue).json")
    }
    if json {
      print(
        try JSONText.encode(
          LayerFitReport(
            valRelMse: summary.validationRelativeMSE.byName, trainRelMse: summary.trainRelativeMSE.byName,
            gateZeroFraction: summary.gateZeroFraction, epochs: summary.epochs, layer: layerData.layer,
            trainTokens: layerData.trainRows.count, valTokens: layerData.validationRows.count)))
    } else {
      print("layer \(layerData.layer): \(layerData.trainRows.count) training tokens, \(layerData.validationRows.count) validation tokens")
      print("relative MSE   train    validation")
      for (train, validation) in zip(summary.trainRelativeMSE.named, summary.validationRelativeMSE.named) {
        print(train.name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %7.4f  %7.4f", train.value, validation.value))
      }
      print(String(format: "gate zero fraction (validation): %.3f", summary.gateZeroFraction))
      print("wrote \(out), \(stem).diffmean.json, \(stem).const-mse.json (peak RSS \(peakResidentMegabytes()) MB)")
    }
  }

  private func fitThroughModel(_ reader: ActivationReader) throws {
    let model = try modelOptions.load()
    try (try model.fingerprint).requireMatch(fingerprint(reader.header), file: data)
    var fitter = ModelPSRFit(model: model, layers: layerList, objective: objective)
    if let epochs { fitter.epochs = epochs }
    if let learningRate { fitter.learningRate = learningRate }
    fitter.seed = seed
    let missing = fitter.targetLayers.filter { !reader.header.layers.contains($0) }
    guard missing.isEmpty else {
      throw CLIError(
        "--objective \(objective.rawValue) compares layers \(fitter.targetLayers.first ?? 0)–\(fitter.targetLayers.last ?? 0); \(data) lacks \(missing); capture with --all-layers"
      )
    }
    var examples = try ModelPSRFit.examples(reader, model: model, layers: fitter.targetLayers)
    var generator = SeededGenerator(seed: seed)
    examples.shuffle(using: &generator)
    let held = ValidationSplit.heldOut(examples: examples.count, fraction: validationFraction)
    let validation = Array(examples.prefix(held))
    let training = Array(examples.dropFirst(held))
    let initial = try fitter.initialGates(reader)
    let before = try fitter.loss(validation.isEmpty ? training : validation, gate: PSRGate(gates: initial))
    let gates = try fitter.fit(training, from: initial) { epoch, step, loss in
      if !json { log(String(format: "epoch %d  step %d  loss %.4f", epoch, step, loss)) }
    }
    let gate = PSRGate(gates: gates)
    let after = try fitter.loss(validation.isEmpty ? training : validation, gate: gate)
    // The fit's relative MSE at every layer it compares (and the regulariser), on the validation split.
    let byLayer = objective == .ll ? [:] : try fitter.lossByLayer(validation.isEmpty ? training : validation, gate: gate)
    var psr = steeringFile(.psr, reader)
    psr.gates = gates
    psr.training["val_loss"] = .number(Double(after))
    psr.training["val_loss_at_init"] = .number(Double(before))
    for (l, v) in byLayer where l >= 0 { psr.training["val_rel_mse_layer_\(l)"] = .number(Double(v)) }
    try psr.save(out)
    let summary = ModelFitReport(
      objective: objective.rawValue, layers: layerList, valLossAtInit: Double(before), valLoss: Double(after),
      gateZeroFraction: gate.tokensSeen > 0 ? Double(gate.tokensGatedOff) / Double(gate.tokensSeen) : 0,
      valRelMseByLayer: Dictionary(
        uniqueKeysWithValues: byLayer.filter { $0.key >= 0 }.map { (String($0.key), Double($0.value)) }),
      valRegulariser: Double(byLayer[-1] ?? 0))
    if json {
      print(try JSONText.encode(summary))
    } else {
      print(String(format: "validation loss: %.4f at the constant initialisation, %.4f after fitting", before, after))
      if !byLayer.isEmpty {
        print("validation relative MSE by layer: " + byLayer.keys.filter { $0 >= 0 }.sorted().map { String(format: "%d %.4f", $0, byLayer[$0]!) }.joined(separator: ", "))
        if let r = byLayer[-1] { print(String(format: "dead-gate regulariser: %.4f", r)) }
      }
      print("wrote \(out) (peak RSS \(peakResidentMegabytes()) MB)")
    }
  }
}

/// `fit --json` on one layer's captured deltas: relative MSE per method (psr, diffmean,
/// const-mse, …) on both splits, and the split sizes.
struct LayerFitReport: Encodable {
  var valRelMse, trainRelMse: [String: Double]
  var gateZeroFraction: Double
  var epochs, layer, trainTokens, valTokens: Int
}

/// `fit --json` through the model (--objective mse-through or ll): the validation loss before and
/// after, and per layer (its number as the key) the relative MSE.
struct ModelFitReport: Encodable {
  var objective: String, layers: [Int]
  var valLossAtInit, valLoss, gateZeroFraction: Double
  /// Per layer (its number as the key).
  var valRelMseByLayer: [String: Double]
  var valRegulariser: Double
}
