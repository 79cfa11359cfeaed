"""Chinese text for the knowledge base: segmentation (jieba with the hotline's own words),
stop words, synonyms.

* Segmented with ``cut_for_search`` (the words and the dictionary words inside them, so
  "住房公积金" also yields "公积金"), HMM off: no guessed new words, so the same text always
  gives the same tokens, in an entry and in a question alike.
* ``workorder/kb_dict.txt`` adds the hotline's terms (公积金, 社保卡, 居住证, 12345 ...) to
  jieba's dictionary; ``workorder/kb_synonyms.txt`` maps a word to the one the index keeps
  (暖气 -> 供暖, 医疗保险 -> 医保).
* ``clauses`` cuts precisely (no overlapping sub-words), clause by clause, for the analysis of
  orders (hot topics, workorder/analysis.py); same dictionary, stop words and synonyms.
* Tokens are lower-cased letters and digits only (punctuation dropped), so the space-joined
  tokens are read back unchanged by SQLite's unicode61 tokenizer and PostgreSQL's
  ``array_to_tsvector``; stop words and particles (怎么, 如何, 吗, 的, 了 ...) are dropped.

The dictionary is loaded once per process (under a lock, on first use); jieba's cache file
lives in the temp directory (``HOTLINE_JIEBA_CACHE`` to choose), never in the source tree.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from pathlib import Path

import jieba

HERE = Path(__file__).resolve().parent
USER_DICT = HERE / "kb_dict.txt"
SYNONYMS = HERE / "kb_synonyms.txt"

# question words, particles, pronouns and politeness: they say how a citizen asks, not what
STOP_WORDS = frozenset(
    """
    怎么 怎么样 怎样 如何 咋 咋办 怎么办 为什么 为啥 什么 啥 哪里 哪儿 哪 哪个 哪些 多少 几 是否 能否 能不能 可不可以
    吗 呢 吧 啊 呀 哦 嘛 么 的 地 得 了 着 过 和 与 及 或 或者 还是 跟 同
    我 我们 我的 你 你们 您 他 她 它 他们 自己 大家 人家
    请问 请 问 问问 想 想问 想要 咨询 一下 一些 一个 有没有 能 可以 可 会 要 需要 应该
    是 不是 在 有 没有 就 都 也 还 又 这 那 这个 那个
    这么 那么 谁 麻烦 谢谢 你好 您好 到底 现在 已经 去 找 给 让 把 被 从 对 向 上 下 里 呗 嗯
    """.split()
)

# how a complaint is told, not what it is about: dropped by the analysis of orders (hot topics)
# on top of STOP_WORDS; the knowledge base keeps them (an entry's title may need 问题 or 办理)
FILLER_WORDS = frozenset(
    """
    反映 反应 问题 情况 事情 希望 要求 请求 诉求 建议 相关 有关 部门 相关部门 有关部门 处理 解决 尽快 及时 帮忙 帮助
    一直 始终 总是 经常 每天 天天 最近 近期 目前 当时 之前 以前 以后 今天 昨天 前天 明天 上午 下午 晚上 早上 时候
    市民 来电 来电人 群众 本人 家里 这里 那里 这边 那边 附近 周边 没人 没有人 不管 没人管 管管 核实 回复 答复 联系
    开始 从前 多长时间 多久 一整天 十几 好几 几天 几个 一些 这种 那种 出来 起来 进去 东西 里面 外面
    已经 还是 但是 因为 所以 如果 而且 并且 然后 结果 导致 造成 影响 严重 非常 特别 比较 太 很 多次 好几 几次 一次
    """.split()
)

_TOKEN = re.compile(r"[^\W_]+")
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_synonyms: dict[str, str] = {}

logging.getLogger("jieba").setLevel(logging.WARNING)


def _cache_dir() -> str:
    d = os.environ.get("HOTLINE_JIEBA_CACHE") or os.path.join(tempfile.gettempdir(), f"hotline-jieba-{os.getuid()}")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def load_synonyms(path: Path = SYNONYMS) -> dict[str, str]:
    """word -> the word the index keeps, from one group a line (the first word is kept)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        for w in words[1:]:
            if w in out and out[w] != words[0]:
                raise ValueError(f"{path}:{n}: {w} is already a synonym of {out[w]}")
            out[w] = words[0]
    return out


def tokenizer() -> jieba.Tokenizer:
    global _tokenizer, _synonyms
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                t = jieba.Tokenizer()
                t.tmp_dir = _cache_dir()
                t.initialize()
                t.load_userdict(str(USER_DICT))
                syn = load_synonyms()
                for w in {*syn, *syn.values()}:  # a synonym is one word, never cut apart
                    if not t.FREQ.get(w):
                        t.add_word(w, 50)
                _synonyms = syn
                _tokenizer = t
    return _tokenizer


def tokens(text: str) -> list[str]:
    """The index tokens of ``text`` (an entry's field or a question), in order, repeats kept."""
    t = tokenizer()
    out = []
    for piece in t.cut_for_search((text or "").lower(), HMM=False):
        for tok in _TOKEN.findall(piece):
            if tok in STOP_WORDS:
                continue
            out.append(_synonyms.get(tok, tok))
    return out


def clauses(text: str) -> list[list[str]]:
    """The words of each clause of ``text`` in order, for the analysis of orders (workorder/analysis.py):
    jieba's precise cut (each stretch of text once, so "住房公积金" is one word, read as 公积金),
    HMM off, stop words dropped, synonyms applied; punctuation ends a clause."""
    t = tokenizer()
    out: list[list[str]] = []
    clause: list[str] = []
    for piece in t.cut((text or "").lower(), HMM=False):
        found = _TOKEN.findall(piece)
        if not found and not piece.isspace():
            if clause:
                out.append(clause)
            clause = []
        for tok in found:
            if tok not in STOP_WORDS:
                clause.append(_synonyms.get(tok, tok))
    if clause:
        out.append(clause)
    return out


def query_terms(q: str) -> list[str]:
    """The distinct tokens of a question, in order of first appearance."""
    return list(dict.fromkeys(tokens(q)))


def joined(text: str) -> str:
    return " ".join(tokens(text))
