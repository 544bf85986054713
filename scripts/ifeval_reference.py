#!/usr/bin/env python3
"""Makes the IFEval scorer's reference fixture (Tests/Fixtures/ifeval/reference.tar.gz).

Runs Google's IFEval checkers, as lm-eval 0.4 ships them (lm_eval/tasks/ifeval), on cases drawn
here: every one of the 25 instruction ids with kwargs drawn as IFEval draws them, and responses that
satisfy, miss by one, are empty or whitespace, fence JSON, change case outside ASCII, or combine
several instructions. Writes IFEval's own two input files and evaluation_main's two outputs, plus
langdetect's answer for every response. Needs, in a venv outside the repo (never in CI):

    pip install lm-eval langdetect nltk immutabledict

Where the reference cannot run here, the script says what it used instead, and docs/IFEVAL.md
repeats it:
  - langdetect: DetectorFactory.seed = 0 (IFEval leaves it unset, which makes verdicts random);
    profiles loaded in sorted order (os.listdir order varies between file systems).
  - length_constraints:number_sentences counts with punkt, whose data nltk downloads at run time;
    here it counts with instructions_util.split_into_sentences, Google's rule-based splitter.
  - change_case:capital_word_frequency tokenizes with nltk.word_tokenize, which needs punkt to split
    sentences first; here word_tokenize(…, preserve_line=True): the same tokenizer on the whole text.

Usage: python scripts/ifeval_reference.py --out DIR [--per-id 90] [--seed 0]
"""
import argparse
import io
import json
import os
import random
import string
import tarfile

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True, help="where to write reference.tar.gz")
ap.add_argument("--per-id", type=int, default=100)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

import langdetect
from langdetect import detector_factory

_listdir = os.listdir
os.listdir = lambda p: sorted(_listdir(p))
detector_factory.init_factory()
os.listdir = _listdir
detector_factory.DetectorFactory.seed = 0
detector_factory._factory.seed = 0

import nltk
from lm_eval.tasks.ifeval import instructions, instructions_util, utils

instructions_util.count_sentences = lambda text: len(instructions_util.split_into_sentences(text))
instructions_util.nltk.word_tokenize = lambda text, *a, **k: nltk.tokenize.NLTKWordTokenizer().tokenize(text)

rng = random.Random(args.seed)
WORDS = instructions_util.WORD_LIST
LANG = {
    "en": "The weather today is pleasant and the children are playing in the park near the river.",
    "es": "El tiempo hoy es agradable y los niños están jugando en el parque cerca del río.",
    "fr": "Le temps est agréable aujourd'hui et les enfants jouent dans le parc près de la rivière.",
    "de": "Das Wetter ist heute angenehm und die Kinder spielen im Park in der Nähe des Flusses.",
    "it": "Il tempo oggi è piacevole e i bambini giocano nel parco vicino al fiume.",
    "pt": "O tempo hoje está agradável e as crianças estão brincando no parque perto do rio.",
    "ru": "Сегодня приятная погода, и дети играют в парке у реки.",
    "uk": "Сьогодні приємна погода, і діти граються в парку біля річки.",
    "bg": "Времето днес е приятно и децата играят в парка близо до реката.",
    "ja": "今日は天気が良くて、子供たちは川の近くの公園で遊んでいます。",
    "ko": "오늘은 날씨가 좋고 아이들은 강 근처 공원에서 놀고 있습니다.",
    "hi": "आज मौसम सुहावना है और बच्चे नदी के पास पार्क में खेल रहे हैं।",
    "ar": "الطقس اليوم لطيف والأطفال يلعبون في الحديقة بالقرب من النهر.",
    "fa": "امروز هوا خوب است و بچه ها در پارک نزدیک رودخانه بازی می کنند.",
    "he": "מזג האוויר היום נעים והילדים משחקים בפארק ליד הנהר.",
    "th": "วันนี้อากาศดีและเด็กๆ กำลังเล่นอยู่ในสวนใกล้แม่น้ำ",
    "vi": "Hôm nay thời tiết dễ chịu và bọn trẻ đang chơi trong công viên gần sông.",
    "pl": "Dzisiaj pogoda jest przyjemna, a dzieci bawią się w parku nad rzeką.",
    "fi": "Tänään sää on miellyttävä ja lapset leikkivät puistossa joen lähellä.",
    "sw": "Leo hali ya hewa ni nzuri na watoto wanacheza katika bustani karibu na mto.",
    "bn": "আজ আবহাওয়া মনোরম এবং শিশুরা নদীর কাছে পার্কে খেলছে।",
    "ta": "இன்று வானிலை இனிமையாக உள்ளது, குழந்தைகள் ஆற்றின் அருகே உள்ள பூங்காவில் விளையாடுகிறார்கள்.",
    "nl": "Het weer is vandaag aangenaam en de kinderen spelen in het park bij de rivier.",
    "tr": "Bugün hava güzel ve çocuklar nehrin yakınındaki parkta oynuyor.",
    "zh-cn": "今天天气很好，孩子们在河边的公园里玩耍。",
}


def sentence(n=None):
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(3, 12))).capitalize() + rng.choice([".", ".", "!", "?"])


def prose(sentences=None):
    return " ".join(sentence() for _ in range(sentences or rng.randint(1, 6)))


def shuffled_language(code):
    words = LANG[code].split(" ")
    k = rng.randint(1, len(words))
    start = rng.randint(0, len(words) - k)
    return " ".join(words[start:start + k])


NOISE = ["", " ", "\n", "  \n\t", "```json\n{}\n```", "İSTANBUL", "straße", "ΣΊΣΥΦΟΣ", "ﬁne", "Ǆemal", "P.S. ok", "*", "***", "******", "<<>>", "[x]", "- a\n* b\n*c", "a,b", '"q"', "１２３", "Section 1 x"]


# Fragments where Python's text semantics are easy to get wrong: Unicode whitespace and case, regex
# classes outside ASCII, JSON corner cases, markdown look-alikes, abbreviations and contractions.
TRICKY = [
    "\u00a0", "\u2003", "\r\n", "\x0b", "\x1c", "\u2028", "\t*\t", "\u3000-", " \u200b ", "\u0085",
    "İ", "ΣΑΣ", "ΌΣ.", "ß", "ǅ", "ﬀ", "Ⅻ", "ſ", "\u212a", "µ", "Ω", "Å", "ǈx", "ᾼ",
    "٣", "１２", "²", "½", "x_y", "a1b", "e.g. this", "Mr. Smith", "Ph.D. work", "U.S.A. It", "Inc. They", "3.14",
    "...", "?!", '."', '!"', "’s", "I'M", "CAN'T", "GONNA", "CANNOT", "'TIS", "WE'LL", "A,B", "X:Y", "1,000", "X—Y", "A--B",
    "(NASA)", "[x]", "[y\n]", "[]", "<<t>>", "<< >>", "<<<x>>>", "* x", "- y", "*x*", "**y**", "***", "******", "*******",
    "P.S.", "p. s.", "P.P.S", "SECTION 2", "Section٣", "Section  2", "\n\n", "\n\n\n", '"', "“", "”", ",", "，",
    '{"a": 1}', "[1, 2]", "NaN", "1e5", "-0", "01", "1.", '"\\u00e9"', '"tab\there"', "true", "null",
]


def trick(text):
    """Mixes a few tricky fragments into a response, at random places."""
    for _ in range(rng.randint(1, 4)):
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(TRICKY) + text[i:]
    return text


def response_for(iid, kw, prompt):
    text = response_aimed(iid, kw, prompt)
    return trick(text) if rng.random() < 0.35 else text


def response_aimed(iid, kw, prompt):
    """A response aimed at the instruction, often nearly right, sometimes wrong."""
    r = rng.random()
    if r < 0.06:
        return rng.choice(["", " ", "\n\n", "\t \n"])
    if r < 0.12:
        return rng.choice(NOISE) + prose(2) + rng.choice(NOISE)
    off = rng.choice([-1, 0, 0, 1])
    if iid == "keywords:existence":
        ws = kw["keywords"]
        body = prose().split(" ")
        for w in ws[: len(ws) + min(off, 0)]:
            body.insert(rng.randrange(len(body) + 1), rng.choice([w, w.upper(), w.capitalize(), w + "s", "un" + w]))
        return " ".join(body)
    if iid == "keywords:frequency":
        body = prose().split(" ")
        for _ in range(max(0, kw["frequency"] + off)):
            body.insert(rng.randrange(len(body) + 1), rng.choice([kw["keyword"], kw["keyword"].upper(), kw["keyword"] + "ing"]))
        return " ".join(body)
    if iid == "keywords:forbidden_words":
        body = prose().split(" ")
        if off:
            w = rng.choice(kw["forbidden_words"])
            body.insert(rng.randrange(len(body) + 1), rng.choice([w, w.upper(), w + "s", "(" + w + ")", w + "_x"]))
        return " ".join(body)
    if iid == "keywords:letter_frequency":
        letter = kw["letter"]
        body = prose(1)
        return body + " " + "".join(rng.choice([letter, letter.upper(), "x"]) for _ in range(max(0, kw["let_frequency"] + 2 * off)))
    if iid == "language:response_language":
        code = kw["language"] if off == 0 else rng.choice(list(LANG))
        code = code if code in LANG else "en"
        parts = [shuffled_language(code) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            parts.append(rng.choice(["OK", "https://example.com/a?b=c", "mail@example.org", "123", shuffled_language("en")]))
        return " ".join(parts)
    if iid == "length_constraints:number_sentences":
        n = max(0, kw["num_sentences"] + off)
        extras = ["Dr. Smith agreed.", "It cost 3.5 dollars.", "Wait...", "U.S.A. It is big.", "See www.example.com now.", "Really?!"]
        return " ".join(rng.choice([sentence(), rng.choice(extras)]) for _ in range(n))
    if iid in ("length_constraints:number_paragraphs",):
        n = max(1, kw["num_paragraphs"] + off)
        sep = rng.choice(["\n***\n", " *** ", "***", "\n\n***\n\n", "\n* * *\n"])
        text = sep.join(prose(2) for _ in range(n))
        return rng.choice([text, text + sep, sep + text, text.replace(sep, sep + sep, 1)])
    if iid == "length_constraints:number_words":
        n = max(1, kw["num_words"] + off)
        return " ".join(rng.choice(WORDS + ["don't", "e-mail", "3.14", "naïve", "_x_"]) for _ in range(n))
    if iid == "length_constraints:nth_paragraph_first_word":
        n = max(1, kw["num_paragraphs"] + off)
        paras = [prose(2) for _ in range(n)]
        k = kw["nth_paragraph"] - 1
        if k < n and rng.random() < 0.8:
            paras[k] = rng.choice([kw["first_word"], kw["first_word"].upper(), '"' + kw["first_word"] + ',"', "'" + kw["first_word"] + "."]) + " " + paras[k]
        return rng.choice(["\n\n", "\n\n\n", "\n \n"]).join(paras)
    if iid == "detectable_content:number_placeholders":
        n = max(0, kw["num_placeholders"] + off)
        return prose(1) + " " + " ".join(rng.choice(["[name]", "[address]", "[]", "[a\nb]", "[[x]]"]) for _ in range(n))
    if iid == "detectable_content:postscript":
        marker = kw["postscript_marker"]
        ending = rng.choice([marker, marker.lower(), "P. S.", "p.p.s", "P.P.S.", "PS", "p. p. s."]) if off else marker
        return prose(2) + rng.choice(["\n\n", " ", "\n"]) + ending + " " + sentence()
    if iid == "detectable_format:number_bullet_lists":
        n = max(0, kw["num_bullets"] + off)
        return prose(1) + "\n" + "\n".join(rng.choice(["* ", "- ", "  * ", "*", "** ", "-"]) + sentence() for _ in range(n))
    if iid == "detectable_format:constrained_response":
        return rng.choice(["My answer is yes.", "My answer is no.", "My answer is maybe.", "my answer is yes.", "My answer is yes", "Yes."]) + rng.choice(["", " " + sentence()])
    if iid == "detectable_format:number_highlighted_sections":
        n = max(0, kw["num_highlights"] + off)
        return prose(1) + " " + " ".join(rng.choice(["*a part*", "**bold part**", "* *", "*x\ny*", "***x***"]) for _ in range(n))
    if iid == "detectable_format:multiple_sections":
        n = max(0, kw["num_sections"] + off)
        sp = kw["section_spliter"]
        return "\n".join(rng.choice([sp, sp.lower(), sp.upper()]) + rng.choice([" ", ""]) + str(i + 1) + "\n" + prose(1) for i in range(n))
    if iid == "detectable_format:json_format":
        obj = {"a": rng.randint(0, 9), "b": [sentence(2)], "c": None}
        text = json.dumps(obj, indent=rng.choice([None, 2]))
        return rng.choice([text, "```json\n" + text + "\n```", "```JSON" + text + "```", "```\n" + text + "\n```", text[:-1], "NaN", "[1, 2,]", '{"a": 01}', "  " + text + "\n", "Here: " + text, '"x"', "-Infinity", '{"a": "\\ud800"}', "```json```" + text])
    if iid == "detectable_format:title":
        return rng.choice(["<<A Title>>\n", "<< >>\n", "<<Title\n>>", "<<<x>>>", "<<a>> and <<b>>", "Title\n", "<<\u00e9t\u00e9>>"]) + prose(2)
    if iid == "combination:two_responses":
        a, b = prose(1), prose(1)
        return rng.choice([a + "\n******\n" + b, a + "******" + a, "******\n" + a + "\n******\n" + b, a + "\n******\n\n******\n" + b, a + "\n*****\n" + b, a])
    if iid == "combination:repeat_prompt":
        p = kw["prompt_to_repeat"]
        return rng.choice([p, p.upper(), "  " + p, p[:-1], "Sure. " + p]) + "\n" + prose(2)
    if iid == "startend:end_checker":
        e = kw["end_phrase"]
        return prose(2) + " " + rng.choice([e, e.lower(), '"' + e + '"', e + ".", e[:-1], e + "  \n"])
    if iid == "change_case:capital_word_frequency":
        n = max(0, kw["capital_frequency"] + off)
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 30))]
        for _ in range(n):
            words.insert(rng.randrange(len(words) + 1), rng.choice([rng.choice(WORDS).upper(), "I", "DON'T", "U.S.", "A-B", "CAN'T", "(NASA)", "\"OK\"", "ÉTÉ", "x1Y".upper()]))
        return " ".join(words)
    if iid == "change_case:english_capital":
        t = prose(rng.randint(1, 3))
        return rng.choice([t.upper(), t, t.upper() + " ok", LANG[rng.choice(list(LANG))].upper(), "123 !!!", t.upper().replace("S", "ſ")])
    if iid == "change_case:english_lowercase":
        t = prose(rng.randint(1, 3))
        return rng.choice([t.lower(), t, t.lower() + " OK", LANG[rng.choice(list(LANG))].lower(), "123 !!!", t.lower() + " İ"])
    if iid == "punctuation:no_comma":
        t = prose(2)
        return rng.choice([t, t.replace(" ", ", ", 1), t + "，", t + " ‚"])
    if iid == "startend:quotation":
        t = prose(2)
        return rng.choice(['"' + t + '"', "  \"" + t + "\"\n", "“" + t + "”", '"' + t, '"', '""', "'" + t + "'"])
    raise ValueError(iid)


def kwargs_for(iid):
    """kwargs as IFEval's build_description draws them, written out so the file holds them."""
    inst = instructions  # noqa
    rel = lambda: rng.choice(["less than", "at least"])
    kw = {
        "keywords:existence": lambda: {"keywords": rng.sample(WORDS, rng.randint(1, 3))},
        "keywords:frequency": lambda: {"keyword": rng.choice(WORDS), "frequency": rng.randint(1, 3), "relation": rel()},
        "keywords:forbidden_words": lambda: {"forbidden_words": rng.sample(WORDS, rng.randint(1, 3))},
        "keywords:letter_frequency": lambda: {"letter": rng.choice(string.ascii_lowercase), "let_frequency": rng.randint(1, 10), "let_relation": rel()},
        "language:response_language": lambda: {"language": rng.choice(list(instructions_util.LANGUAGE_CODES))},
        "length_constraints:number_sentences": lambda: {"num_sentences": rng.randint(1, 20), "relation": rel()},
        "length_constraints:number_paragraphs": lambda: {"num_paragraphs": rng.randint(1, 5)},
        "length_constraints:number_words": lambda: {"num_words": rng.randint(5, 60), "relation": rel()},
        "length_constraints:nth_paragraph_first_word": lambda: (lambda n: {"num_paragraphs": n, "nth_paragraph": rng.randint(1, n), "first_word": rng.choice(WORDS)})(rng.randint(1, 5)),
        "detectable_content:number_placeholders": lambda: {"num_placeholders": rng.randint(1, 4)},
        "detectable_content:postscript": lambda: {"postscript_marker": rng.choice(["P.S.", "P.P.S", "Note:"])},
        "detectable_format:number_bullet_lists": lambda: {"num_bullets": rng.randint(1, 5)},
        "detectable_format:constrained_response": lambda: {},
        "detectable_format:number_highlighted_sections": lambda: {"num_highlights": rng.randint(1, 4)},
        "detectable_format:multiple_sections": lambda: {"section_spliter": rng.choice(["Section", "SECTION", "PART"]), "num_sections": rng.randint(1, 5)},
        "detectable_format:json_format": lambda: {},
        "detectable_format:title": lambda: {},
        "combination:two_responses": lambda: {},
        "combination:repeat_prompt": lambda: {"prompt_to_repeat": sentence()},
        "startend:end_checker": lambda: {"end_phrase": rng.choice(["Any other questions?", "Is there anything else I can help with?", "Peace out."])},
        "change_case:capital_word_frequency": lambda: {"capital_frequency": rng.randint(1, 20), "capital_relation": rel()},
        "change_case:english_capital": lambda: {},
        "change_case:english_lowercase": lambda: {},
        "punctuation:no_comma": lambda: {},
        "startend:quotation": lambda: {},
    }
    return kw[iid]()


from lm_eval.tasks.ifeval import instructions_registry

ids = sorted(instructions_registry.INSTRUCTION_DICT)
assert len(ids) == 25, ids
inputs, responses = [], []
key = 0
for iid in ids:
    for _ in range(args.per_id):
        kw = kwargs_for(iid)
        entries = [(iid, kw)]
        # Several instructions at once in about one case in six.
        if rng.random() < 0.16:
            other = rng.choice(ids)
            if other != iid:
                entries.append((other, kwargs_for(other)))
        key += 1
        prompt = f"Case {key}: " + sentence()
        text = "\n\n".join(response_for(i, k, prompt) for i, k in entries) if len(entries) > 1 else response_for(iid, kw, prompt)
        inputs.append({"key": key, "prompt": prompt, "instruction_id_list": [i for i, _ in entries], "kwargs": [k for _, k in entries]})
        responses.append({"prompt": prompt, "response": text})

# IFEval's own description of each instruction (build_description's return), which the benchmark
# appends to base queries: InstructionPhrasing must write the same text.
descriptions = []
for inp in inputs:
    texts = []
    for iid, kw in zip(inp["instruction_id_list"], inp["kwargs"]):
        inst = instructions_registry.INSTRUCTION_DICT[iid](iid)
        texts.append(inst.build_description(**{k: v for k, v in kw.items() if v}))
    descriptions.append({"instruction_id_list": inp["instruction_id_list"], "kwargs": inp["kwargs"], "descriptions": texts})

strict, loose, language = [], [], []
for inp, resp in zip(inputs, responses):
    ex = utils.InputExample(key=inp["key"], instruction_id_list=inp["instruction_id_list"], prompt=inp["prompt"], kwargs=inp["kwargs"])
    for out, fn in ((strict, utils.test_instruction_following_strict), (loose, utils.test_instruction_following_loose)):
        o = fn(ex, resp["response"])
        out.append({"instruction_id_list": o.instruction_id_list, "prompt": o.prompt, "response": o.response,
                    "follow_all_instructions": o.follow_all_instructions, "follow_instruction_list": o.follow_instruction_list})
    try:
        lang = langdetect.detect(resp["response"])
    except langdetect.LangDetectException:
        lang = None
    language.append({"text": resp["response"], "language": lang})

files = {
    "input_data.jsonl": inputs, "input_response_data.jsonl": responses,
    "eval_results_strict.jsonl": strict, "eval_results_loose.jsonl": loose, "language.jsonl": language,
    "descriptions.jsonl": descriptions,
}
os.makedirs(args.out, exist_ok=True)
with tarfile.open(os.path.join(args.out, "reference.tar.gz"), "w:gz") as tar:
    for name, rows in files.items():
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        info = tarfile.TarInfo("ifeval-reference/" + name)
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
follows = sum(s["follow_all_instructions"] for s in strict)
print(f"{len(inputs)} cases over {len(ids)} ids; strict follows {follows}, loose {sum(l['follow_all_instructions'] for l in loose)}")
