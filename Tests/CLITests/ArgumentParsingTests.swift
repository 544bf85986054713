import ArgumentParser
import XCTest

import CaptureCommands
import CompareCommands
import PSRCommands

/// Each command's bad arguments through ArgumentParser's own `parse` (which runs `validate()`):
/// refused before any work, with a message naming the flag or the bad entry, and good ones parsed
/// into their types.
final class ArgumentParsingTests: XCTestCase {
  private func assertRefused<C: ParsableCommand>(
    _ command: C.Type, _ arguments: [String], mentioning text: String, line: UInt = #line
  ) {
    XCTAssertThrowsError(try C.parse(arguments), "\(arguments) parsed", line: line) { error in
      let message = C.message(for: error)
      XCTAssertTrue(message.contains(text), "\(arguments): '\(message)' does not mention \(text)", line: line)
    }
  }

  func testGenerateAndServe() throws {
    let prompt = ["--prompt", "Hi"]
    assertRefused(Generate.self, prompt + ["--max-tokens=-1"], mentioning: "--max-tokens")
    assertRefused(Generate.self, prompt + ["--temperature", "nan"], mentioning: "--temperature")
    assertRefused(Generate.self, prompt + ["--top-p", "1.5"], mentioning: "--top-p")
    assertRefused(Generate.self, prompt + ["--chat-template", "vicuna"], mentioning: "vicuna")
    assertRefused(Generate.self, prompt + ["--weights", "fp16"], mentioning: "fp16")
    assertRefused(Generate.self, prompt + ["--model", ""], mentioning: "--model")
    XCTAssertEqual(try Generate.parse(prompt + ["--chat-template", "llama3"]).modelOptions.chatTemplate, .llama3)
    assertRefused(Generate.self, prompt + ["--stream=-1"], mentioning: "--stream")
    XCTAssertEqual(try Generate.parse(prompt + ["--stream", "3"]).stream, 3)
    assertRefused(Serve.self, ["--max-batch", "0"], mentioning: "--max-batch")
    assertRefused(Serve.self, ["--steer", ""], mentioning: "--steer")
    assertRefused(Serve.self, ["--steer", "a.json:inf"], mentioning: "finite")
    XCTAssertEqual(try Serve.parse(["--max-batch", "8"]).maxBatch, 8)
  }

  func testSteeringVectorsAndFit() throws {
    let train = ["--layer", "3", "--data", "d.jsonl", "--out", "o.json"]
    assertRefused(SteeringVectorCommand.Train.self, train + ["--kind", "psr"], mentioning: "psr")
    assertRefused(SteeringVectorCommand.Train.self, train + ["--kind", "prosv", "--positions", "q3"], mentioning: "q3")
    assertRefused(SteeringVectorCommand.Train.self, train + ["--kind", "prosv", "--epochs", "0"], mentioning: "--epochs")
    assertRefused(SteeringVectorCommand.Train.self, train + ["--kind", "fssv", "--vector-lr", "nan"], mentioning: "--vector-lr")
    let parsed = try SteeringVectorCommand.Train.parse(train + ["--kind", "prosv", "--positions", "p1+s3"])
    XCTAssertEqual(parsed.kind, .prosv)
    XCTAssertEqual(parsed.positions, .prompt(prefix: 1, suffix: 3))

    let fit = ["--data", "d.h5", "--out", "o"]
    assertRefused(Fit.self, fit + ["--layer", "3", "--objective", "l2"], mentioning: "l2")
    assertRefused(Fit.self, fit + ["--layer", "3", "--variant", "some"], mentioning: "some")
    assertRefused(Fit.self, fit + ["--layers", "3,x", "--variant", "all"], mentioning: "'x'")
    assertRefused(Fit.self, fit, mentioning: "--layer")
    XCTAssertEqual(try Fit.parse(fit + ["--layers", "3,5", "--variant", "all", "--objective", "ll"]).objective, .ll)
  }

  func testExportBenchAndTuneAlpha() throws {
    assertRefused(Export.self, ["s.json", "--format", "onnx"], mentioning: "onnx")
    assertRefused(Export.self, ["s.json", "--factor", "inf"], mentioning: "--factor")
    XCTAssertEqual(try Export.parse(["s.json", "--format", "safetensors"]).format, .safetensors)
    assertRefused(Bench.self, ["--only", "prefil"], mentioning: "prefil")
    assertRefused(Bench.self, ["--only", "decode,"], mentioning: "--only")
    assertRefused(Bench.self, ["--runs=-1"], mentioning: "--runs")
    XCTAssertEqual(try Bench.parse(["--only", "decode,batch16"]).only, [.decode, .batch16])
    let tune = ["--steer", "s.json", "--data", "d.h5"]
    assertRefused(TuneAlpha.self, tune + ["--factors", "1,abc"], mentioning: "abc")
    assertRefused(TuneAlpha.self, tune + ["--steps=-1"], mentioning: "--steps")
    assertRefused(TuneAlpha.self, tune + ["--target-coherence", "120"], mentioning: "--target-coherence")
  }

  func testReport() throws {
    let report = ["--data", "c.h5", "--out", "r.html"]
    assertRefused(ReportCommand.self, report + ["--examples=-1"], mentioning: "--examples")
    assertRefused(ReportCommand.self, report + ["--steer", ""], mentioning: "--steer")
    assertRefused(ReportCommand.self, ["--data", "c.h5"], mentioning: "--out")
    assertRefused(ReportCommand.self, ["--data", "", "--out", "r.html"], mentioning: "--data")
    XCTAssertEqual(try ReportCommand.parse(report + ["--steer", "a.psr", "--steer", "b.json"]).steer, ["a.psr", "b.json"])
  }

  func testCapture() throws {
    let base = ["--prompt-file", "p.txt", "--inputs", "x.txt", "--out", "o.h5"]
    assertRefused(CaptureCommand.self, base + ["--layers", "3", "--prompt-position", "middle"], mentioning: "middle")
    assertRefused(CaptureCommand.self, base + ["--layers", ""], mentioning: "--layers")
    assertRefused(CaptureCommand.self, base + ["--layers", "3", "--limit=-1"], mentioning: "--limit")
    assertRefused(CaptureCommand.self, base + ["--layers", "3", "--samples", "0"], mentioning: "--samples")
    XCTAssertEqual(try CaptureCommand.parse(base + ["--layers", "3", "--prompt-position", "system"]).promptPosition, .system)
  }

  func testCompare() throws {
    assertRefused(Run.self, ["--bench", "axbench,persna"], mentioning: "persna")
    assertRefused(Run.self, ["--bench", ""], mentioning: "--bench")
    assertRefused(Run.self, ["--methods", "psr,,none"], mentioning: "--methods")
    assertRefused(Run.self, ["--methods", "psr,magic"], mentioning: "magic")
    assertRefused(Run.self, ["--budget", "huge"], mentioning: "huge")
    assertRefused(Run.self, ["--judge", "gpt"], mentioning: "gpt")
    assertRefused(Run.self, ["--judge", "openai"], mentioning: "--judge-url")
    assertRefused(Run.self, ["--shard", "4/4"], mentioning: "--shard")
    assertRefused(Run.self, ["--steer", "psr=x.json"], mentioning: "already a method")
    let run = try Run.parse(["--bench", "persona", "--methods", "prompt,psr", "--budget", "paper"])
    XCTAssertEqual(run.bench, [.persona])
    XCTAssertEqual(run.methods, [.prompt, .psr])
    XCTAssertEqual(run.budget, .paper)
    assertRefused(Merge.self, ["--out", "m"], mentioning: "<directories>")
    assertRefused(
      JudgeFile.self, ["--input", "g.jsonl", "--output", "s.jsonl", "--judge-concurrency", "0"], mentioning: "--judge-concurrency")
  }
}
