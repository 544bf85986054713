// The decoder's users see the model files and tokenizers through LM, as before the split: a target
// that imports LM needs no other import to open a model and tokenize.
@_exported import ModelFiles
@_exported import Tokenizers
