import ArgumentParser
import CLICommon
import LM

public struct Tokenize: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Print the token ids of a text as a JSON array.",
    discussion: """
      The text is encoded as a whole document: it starts with the model's BOS token where the \
      tokenizer adds one (GGUF tokenizer.ggml.add_bos_token, or tokenizer_config.json and the \
      post-processor of tokenizer.json), unless --no-bos.

      Examples:
        psr tokenize "Hello world"
        psr tokenize --special "<|im_start|>user"
        psr tokenize --model models/SmolLM2-135M-Instruct.Q4_1.gguf --no-bos "Hello world"   # or a Hugging Face model directory
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Flag(help: "Parse control-token strings such as <|im_start|> as their ids.") var special = false
  @Flag(help: "Never put the BOS token first.") var noBos = false
  @Argument(help: "The text to tokenize.") var text: String

  public func run() throws {
    let tokenizer = try DecoderModel.tokenizer(path: modelOptions.resolvedPath)
    let ids = noBos ? tokenizer.encode(text, parseSpecial: special) : tokenizer.encodeDocument(text, parseSpecial: special)
    print("[" + ids.map(String.init).joined(separator: ", ") + "]")
  }
}
