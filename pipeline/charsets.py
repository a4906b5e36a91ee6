"""Character classes shared by the readers, the cleaner and structure.

Written once here so that a bullet or an unmapped glyph means the same thing at every
stage.
"""

from __future__ import annotations

import re

#: CJK ideographs (extension A, the basic block, compatibility ideographs).
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

#: Bullets that start contents lines and article headlines (★ in most bulletins).
BULLETS = "★☆●◆◇■□▲△•▶►◎※"

#: Characters that mean a PDF font had no usable Unicode mapping: pdfminer's ``(cid:N)``,
#: private-use code points and U+FFFD (what PDFium's unmapped glyphs become).
UNMAPPED = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd]")
