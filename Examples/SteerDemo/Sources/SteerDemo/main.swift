// Loads a model with LM, adds a steering direction at one layer with Steering's AdditiveVector, and
// generates the same prompt greedily with and without it. Exits 1 when the steering changed nothing.
//
//   swift run SteerDemo MODEL DIRECTION.json [LAYER] [ALPHA]
import Foundation
import LM
import Steering

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("steer-demo: \(message)\n".utf8))
  exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else { fail("usage: SteerDemo MODEL DIRECTION.json [LAYER] [ALPHA]") }
let modelPath = arguments[arguments.startIndex]
let directionPath = arguments[arguments.startIndex + 1]
let layer = arguments.count > 2 ? Int(arguments[arguments.startIndex + 2]) : 15
let alpha = arguments.count > 3 ? Float(arguments[arguments.startIndex + 3]) : 8
guard let layer, let alpha, alpha.isFinite else { fail("LAYER must be an integer and ALPHA a finite number") }

do {
  let model = try DecoderModel(path: modelPath)
  guard (0..<model.configuration.layerCount).contains(layer) else {
    fail("layer \(layer) is outside 0..<\(model.configuration.layerCount)")
  }
  guard let data = FileManager.default.contents(atPath: directionPath),
    let direction = try? JSONDecoder().decode([Float].self, from: data),
    direction.count == model.configuration.modelDimension
  else { fail("\(directionPath) is not a JSON array of \(model.configuration.modelDimension) numbers") }

  let prompt = model.chatPrompt(user: "Describe a city.")
  let options = GenerationOptions(maxNewTokens: 40)
  let steering = AdditiveVector(layer: layer, alpha: alpha, vector: direction)
  let plain = try model.generate(prompts: [prompt], options: options)[0]
  let steered = try model.generate(prompts: [prompt], options: options, intervention: steering)[0]
  print("unsteered: \(model.tokenizer.decode(plain.ids, skipSpecial: true))")
  print("steered (layer \(layer), α \(alpha)): \(model.tokenizer.decode(steered.ids, skipSpecial: true))")
  if plain.ids == steered.ids {
    FileHandle.standardError.write(Data("steer-demo: the steered generation equals the unsteered one\n".utf8))
    exit(1)
  }
} catch {
  fail("\(error)")
}
