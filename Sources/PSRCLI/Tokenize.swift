import ArgumentParser
import CLICommon
import LM

struct Tokenize: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the token ids of a text as a JSON array.",
    discussion: """
      Examples:
        psr tokenize "Hello world"
        psr tokenize --special "<|im_start|>user"
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Flag(help: "Parse control-token strings such as <|im_start|> as their ids.") var special = false
  @Argument(help: "The text to tokenize.") var text: String

  func run() throws {
    let gguf = try GGUFFile(path: modelOptions.resolvedPath)
    let tokenizer = try BPETokenizer(gguf: gguf)
    print("[" + tokenizer.encode(text, parseSpecial: special).map(String.init).joined(separator: ", ") + "]")
  }
}
