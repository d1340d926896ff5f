"""Deterministic synthetic Daily Papers corpus for store benchmarks.

Everything is derived from a seed, so two runs with the same `papers`/`seed` produce the same
papers in the same order, and `iter_daily_lists` streams them day by day: a 1M-paper corpus
never sits in memory.

What it imitates:

* Titles are built from an ML vocabulary with Zipf-weighted word lists, so the head words of
  real Daily Papers titles are common ("model*" in ~30% of titles, "language", "large",
  "learning", "diffusion" in 8-20%) and a long tail is rare (technical words used a few
  hundred times per million titles, invented system names used once or twice). About a third
  of the titles have the "Name: subtitle" shape.
* arXiv ids are new-style (YYMM.NNNNN), chronological, 20k-30k papers per month from 2301.
  Daily lists hold ~50-150 papers each, one list per calendar day from 2023-01-01. (So a
  1M-paper corpus has ~10k daily lists spanning decades of list days while its ids span ~40
  months: the real Daily Papers list samples well under 1% of arXiv; a 1M store is a stress
  size, not a forecast. Nothing in the store relates list days to id months.)
* Papers have 3-30 authors (median 6) drawn from a pool of ~0.8 x papers ranked names with a
  heavy-tailed productivity: at 1M papers the most prolific names are on ~1-2k papers while
  most names are on one to a few. Names mix cultures: accented Latin (Björn, Søren, José,
  Łukasz, Nguyễn), Chinese and Korean romanisations, Indian, Japanese, Arabic/Turkish/Persian.
  Common names such as "Wei Wang" collide, as they do in real author lists.
* Abstracts are ~150-250 words; upvotes are heavy-tailed (median ~4, a few in the hundreds).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from bot.models import DailyList, Paper

DEFAULT_SEED = 1
START_MONTH = (2023, 1)  # first arXiv id month: 2301
START_DAY = date(2023, 1, 1)  # first daily list

# ------------------------------------------------------------------------------------------
# Title vocabulary, most frequent first within each list (weights are Zipf over the position).

MODIFIERS = """
Large|Efficient|Multimodal|Scalable|Visual|Generative|Unified|Robust|Open|Fast|Self-Supervised|
Long-Context|Zero-Shot|Adaptive|Controllable|Hierarchical|Sparse|Autoregressive|Interactive|
Lightweight|Universal|Compositional|Consistent|Fine-Grained|Dynamic|Parameter-Efficient|
Training-Free|High-Fidelity|Real-Time|Few-Shot|Multilingual|Embodied|Personalized|Continual|
Federated|Contrastive|Hybrid|Physical|Temporal|Spatial|Causal|Latent|Discrete|Continuous|Implicit|
Explicit|Probabilistic|Bayesian|Neural|Synthetic|Verifiable|Faithful|Secure|Private|Explainable|
Interpretable|Decentralized|Distributed|Quantized|Distilled|Pretrained|Instruction-Tuned|
Open-Source|Open-Vocabulary|Text-Guided|Reference-Based|Mask-Guided|Physics-Informed|
Geometry-Aware|Uncertainty-Aware|Reward-Guided|Memory-Efficient|Compute-Optimal|Data-Efficient|
Sample-Efficient|Cross-Modal|Cross-Lingual|Multi-View|Multi-Agent|Multi-Turn|Multi-Task|
Single-Image|Monocular|Dense|Native|Agentic|Any-Resolution|Streaming|Steerable|Editable|
Animatable|Relightable|Deformable|Articulated|Egocentric|Holistic|Modular|Recursive|Iterative|
Progressive|Cascaded|Masked|Guided|Conditional|Tiny|Small|Compact|Minimal|Simple|Elastic
"""
DOMAINS = """
Language|Vision|Diffusion|Video|Image|Text-to-Image|3D|Vision-Language|Speech|Code|Reward|Policy|
Audio|Text-to-Video|Graph|Robot|World|Foundation|Mixture-of-Experts|Retrieval|Web|GUI|Math|
Medical|Motion|Scene|Point Cloud|Gaussian|Token|Attention|State Space|Music|Molecular|Protein|
Document|Table|Chart|Remote Sensing|Satellite|Weather|Tabular|Time Series|Human|Face|Avatar|Hand|
Layout|Font|Sketch|Depth|Optical Flow|Camera|Lidar|Driving|Navigation|Dialogue|Instruction|
Preference|Feedback|Tool|Search|Memory|Context|Prompt|Caption|Visual Token|KV Cache|Latent Space
"""
HEADS = """
Models|Model|Learning|Generation|Transformers|Agents|Benchmark|Alignment|Framework|Training|
Tuning|Networks|Representations|Editing|Understanding|Synthesis|Reconstruction|Evaluation|
Decoding|Optimization|Distillation|Segmentation|Estimation|Tokenizer|Encoders|Adaptation|
Planning|Dataset|Inference|Quantization|Compression|Pretraining|Detection|Tracking|Control|
Policies|Experts|Embeddings|Priors|Fields|Splatting|Prediction|Simulation|Modeling|Pipeline|
Toolkit|Suite|Corpus|Library|Recipe|Baselines|Analysis|Survey|Study|Architecture|Objective|
Scheduler|Sampler|Solver|Verifier|Critic|Judge|Planner|Router|Adapter|Prompting|Unlearning|
Watermarking|Jailbreaking|Red-Teaming|Guardrails|Serving|Caching|Pruning|Merging|Steering
"""
TASKS = """
Reasoning|Large Language Models|Image Generation|Video Generation|Diffusion Models|
Question Answering|Code Generation|Mathematical Reasoning|Language Models|Instruction Following|
Vision-Language Models|Text-to-Image Synthesis|Long-Context Understanding|Reinforcement Learning|
Multimodal Large Language Models|3D Reconstruction|Novel View Synthesis|Image Editing|
Speech Recognition|Machine Translation|Robot Manipulation|Autonomous Driving|
Visual Question Answering|Tool Use|Preference Optimization|In-Context Learning|
Chain-of-Thought Reasoning|Language Modeling|Video Understanding|Text-to-Speech|
Semantic Segmentation|Object Detection|Depth Estimation|Pose Estimation|Motion Generation|
Retrieval-Augmented Generation|Knowledge Distillation|Continual Learning|Federated Learning|
Open-Domain Dialogue|Summarization|Information Extraction|Named Entity Recognition|
Program Synthesis|Theorem Proving|Protein Design|Drug Discovery|Weather Forecasting|
Time Series Forecasting|Recommendation|Anomaly Detection|Image Restoration|Super-Resolution|
Video Editing|Music Generation|Audio Generation|Scene Understanding|Embodied Navigation|
GUI Automation|Web Agents|Software Engineering|Data Selection|Reward Modeling|Model Merging|
Speculative Decoding|Hallucination Detection|Safety Alignment|Uncertainty Estimation
"""
VERBING = """
Scaling|Rethinking|Improving|Benchmarking|Evaluating|Unlocking|Enhancing|Towards|Revisiting|
Understanding|Accelerating|Aligning|Bridging|Boosting|Exploring|Training|Teaching|Taming|
Democratizing|Distilling|Compressing|Probing|Measuring|Mitigating|Unifying|Steering
"""
VERBS = "Reason|Plan|See|Edit|Generate|Retrieve|Search|Think|Act|Code|Draw|Listen|Speak|Forget"
ASPECTS = """
Robustness|Limits|Scaling|Role|Emergence|Faithfulness|Geometry|Dynamics|Stability|Effectiveness|
Generalization|Calibration|Sample Complexity|Expressivity|Brittleness|Memorization
"""
# Real but rare technical words: each appears in ~0.05% of titles at most.
RARE_WORDS = """
Bisimulation|Tensegrity|Koopman|Wasserstein|Lipschitz|Hamiltonian|Ophthalmic|Crystallographic|
Pharmacokinetic|Seismic|Cartographic|Hyperspectral|Phonological|Morphosyntactic|Topological|
Sheaf|Simplicial|Tropical|Ergodic|Martingale|Holographic|Origami|Cuneiform|Sanskrit|Glacier|
Volcanic|Coral|Exoplanet|Bioacoustic|Echocardiography|Histopathology|Dermatology|Radiology|
Spectroscopy|Metamaterial|Photonic|Neuromorphic|Memristive|Lagrangian|Eulerian|Navier-Stokes|
Schrodinger|Fokker-Planck|Kolmogorov|Riemannian|Hyperbolic|Grassmannian|Stiefel|Banach|
Sobolev|Chebyshev|Legendre|Fourier|Wavelet|Gabor|Hopfield|Boltzmann|Ising|Potts|Langevin|
Metropolis|Gibbs|Dirichlet|Poisson|Weibull|Gumbel|Sinkhorn|Hungarian|Voronoi|Delaunay|
Steiner|Ramsey|Turing|Godel|Church|Kripke|Tarski|Zermelo|Cantor|Hilbert|Noether|Galois|
Abelian|Lie Group|Clifford|Quaternion|Octonion|Tensor Network|Matrix Product|Kernel Ridge|
Gaussian Process|Kalman|Particle Filter|Viterbi|Baum-Welch|Earley|CYK|Lambek|Montague|
Phylogenetic|Metagenomic|Proteomic|Transcriptomic|Epigenetic|Crispr|Antibody|Enzyme|Catalyst|
Perovskite|Graphene|Superconducting|Plasma|Tokamak|Fusion Reactor|Wind Turbine|Photovoltaic|
Hydrological|Permafrost|Wildfire|Earthquake|Tsunami|Cyclone|Monsoon|Drought|Aquifer
"""


def _words(text: str) -> list[str]:
    return text.split()


def _split(block: str) -> list[str]:
    return [w.strip() for w in block.replace("\n", "").split("|") if w.strip()]


def _zipf_cum(n: int, s: float = 1.0, offset: float = 1.0) -> list[float]:
    """Cumulative Zipf weights for positions 0..n-1 (weight of i = (i + offset) ** -s)."""
    return list(itertools.accumulate((i + offset) ** -s for i in range(n)))


class _Pick:
    """Weighted picker over a list, most frequent first."""

    def __init__(self, items: Sequence[str], s: float = 1.0, offset: float = 1.0):
        self.items = list(items)
        self.cum = _zipf_cum(len(self.items), s, offset)
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


# ------------------------------------------------------------------------------------------
# Invented system names ("Quorvex", "LumaForge-R1"): the rare-term tail of titles.

_ONSETS = _words("b c d f g h j k l m n p qu r s t v w z br cr dr fl gr kr pl pr sk st tr th sh ch")
_VOWELS = _words("a e i o u a e i o ai ea io ou y")
_CODAS = ["", "", "", "n", "r", "s", "x", "l", "m", "nt", "rk", "st", "sh"]
_SUFFIXES = ["", "", "", "", "", "-R1", "-V2", "-VL", "-Bench", "-Zero", "-o", "++", "-XL", "-Lite"]


def _syllable(h: int) -> str:
    onset = _ONSETS[h % len(_ONSETS)]
    h //= len(_ONSETS)
    vowel = _VOWELS[h % len(_VOWELS)]
    h //= len(_VOWELS)
    return onset + vowel + _CODAS[h % len(_CODAS)]


def _mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def system_name(rank: int, seed: int = DEFAULT_SEED) -> str:
    """The invented system name of a popularity rank (0 = most reused)."""
    h = _mix(rank * 7919 + seed * 1_000_003)
    parts = 2 + (h % 3 == 0)
    h //= 3
    word = ""
    for _ in range(parts):
        word += _syllable(h & 0xFFFF)
        h >>= 16
    word = word.capitalize()
    style = h % 10
    h //= 10
    if style == 0:  # acronym-like: "QUORVEX"
        word = word.upper()
    elif style == 1:  # CamelCase compound: "VidForge"
        word = word[:4] + _syllable(h & 0xFFFF).capitalize()
    return word + _SUFFIXES[(h >> 16) % len(_SUFFIXES)]


# ------------------------------------------------------------------------------------------
# Author names.


class _Culture:
    """How one naming culture builds names: given names, surnames, middle parts."""

    def __init__(
        self,
        weight: float,
        given: str,
        family: str,
        *,
        syllables: str = "",
        two_syllable: float = 0.0,
        hyphen: float = 0.0,
        roots: str = "",
        endings: str = "",
        compound: float = 0.0,
        middle: str = "",
        middle_rate: float = 0.0,
        family_skew: float = 0.7,
        double_family: float = 0.0,
    ):
        self.weight = weight
        self.given = given.split()
        self.family = _Pick(family.split(), s=family_skew)
        self.syllables = syllables.split()
        self.two_syllable = two_syllable
        self.hyphen = hyphen
        self.roots = roots.split()
        self.endings = endings.split()
        self.compound = compound
        self.middle = middle.split()
        self.middle_rate = middle_rate
        self.double_family = double_family

    def name(self, rng: random.Random) -> str:
        if self.syllables and rng.random() < self.two_syllable:
            first, second = rng.choice(self.syllables), rng.choice(self.syllables)
            given = first.capitalize() + ("-" if rng.random() < self.hyphen else "") + second
        else:
            given = rng.choice(self.given)
        if self.roots and rng.random() < self.compound:
            family = rng.choice(self.roots) + rng.choice(self.endings)
        else:
            family = self.family(rng)
        if rng.random() < self.double_family:  # Spanish/Portuguese: two surnames
            family = f"{family} {self.family(rng)}"
        if self.middle and rng.random() < self.middle_rate:
            given = f"{given} {rng.choice(self.middle)}"
        return f"{given} {family}"


_INITIALS = " ".join(f"{c}." for c in "ABCDEFGHJKLMNPRSTW")
_CULTURES: dict[str, _Culture] = {
    "chinese": _Culture(
        0.30,
        "Wei Yu Lei Jing Hao Xin Yang Jie Ming Jun Tao Yi Chen Bo Peng Hui Yan Qi Rui Kai Fei Lin "
        "Qiang Xiang Dong Ying Jian Liang Ning Ping Gang Hong Min Yun Lu Han Kun Zhe Heng Cheng",
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao Zheng "
        "Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du "
        "Ye Cheng Wei Su Lu Ding Ren Shen Yao Jin Fu Zhong Cui Tan Qian Shi Fan Jia Xia Fang",
        syllables="zhi yuan xiao ming yu xuan zi han hao ran jia xin shuai yi fan zheng xin "
        "wei ji ang tian chen xi si jun yang jian feng cheng qing hua rui bo kai long hong "
        "lin ning wen jing yan hui tao peng fei lei dong ze chao meng shu ting yue ke qi "
        "bin hang kun zhen yong sheng guang rong bai bei cai can ce cong cun da dai dan dao de "
        "di ding dou duo er fang fen fu gan gao ge gong gu gui guo hai hen heng hu huai huan "
        "huang jia jiao jie jin jiu ju juan jue kang kuan lan lang le li lian liang ling liu "
        "lu luo man mao mei mian miao min mo mu nan ni nian ou pei ping pu qian qiang qiao qin "
        "qiu quan que ren ri ru rui run sen shan shang shao shen shi shou shuo song su sui "
        "tan tang teng tong wan wu xia xian xiang xie xing xiong xu xue ya yao ye yin ying you "
        "yun zan zao zeng zhan zhang zhao zhe zhong zhou zhu zhuo zong zu zun zuo",
        two_syllable=0.8,
        family_skew=0.9,
    ),
    "korean": _Culture(
        0.07,
        "Minjun Seoyeon Jiwon Hyunwoo Jaehyun Sungjin Donghyun Yejin Seungwoo Jihoon Minseo",
        "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Shin Oh Seo Kwon Hwang Ahn Song Yoo "
        "Hong",
        syllables="min jun seo yeon ji won hyun woo jae sung jin dong ye seung hoon hye eun "
        "tae so ho da kyung young chang sang joon su hee yu na ha gyu hwan in jong kwang mi "
        "myung nam seok sik soo sun won yong chul eui gun hak",
        two_syllable=0.9,
        hyphen=0.25,
        family_skew=1.2,
    ),
    "japanese": _Culture(
        0.04,
        "Takashi Yuki Haruto Sakura Kenji Hiroshi Akira Naoki Ryota Yusuke Daisuke Kaito Shun "
        "Aoi Mei Hina Kazuki Takumi Sota Riku Yui Koji Masato Tatsuya Kenta Shota Yuta Kohei "
        "Tomoya Hiroki Satoshi Makoto Yoshihiro Keisuke Shinji Ayumi Nanami Kaori Haruka Misaki",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida "
        "Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Mori Ikeda Hashimoto "
        "Ishikawa Ogawa Fujita Okada Goto Hasegawa Murakami Kondo Ishii Saito Sakamoto Endo",
        syllables="hiro taka masa kazu yoshi nori toshi aki haru yu ken shin tomo nao ryo dai "
        "to ki ya ta ko mi ka ro hiko ki suke shi",
        two_syllable=0.6,
        roots="Yama Naka Ta Ki Mori Kawa Hashi Fuji Ishi Matsu Taka Hara Oka Sugi Kuro Shira Nishi",
        endings="moto da guchi mura kawa shita hara no uchi saki zawa oka",
        compound=0.6,
        family_skew=0.6,
    ),
    "indian": _Culture(
        0.09,
        "Arjun Priya Rahul Ananya Vikram Aditi Rohan Sneha Karthik Divya Siddharth Neha Aditya "
        "Pooja Varun Kavya Abhishek Shreya Nikhil Meera Sanjay Lakshmi Aravind Ishaan Tanvi "
        "Amit Ankit Deepak Gaurav Harsh Manish Naveen Pranav Rajesh Sachin Tarun Vivek Yash "
        "Anjali Bhavna Deepika Gayatri Jyoti Kiran Madhuri Nandini Radhika Swati Uma Vidya",
        "Sharma Gupta Patel Singh Reddy Iyer Kumar Rao Nair Joshi Mehta Agarwal Chatterjee "
        "Banerjee Mukherjee Desai Kulkarni Menon Pillai Verma Mishra Saxena Bhat Krishnan "
        "Srinivasan Subramanian Venkatesh Raghavan Chandra Das Ghosh Bose Sen Dutta Malhotra "
        "Kapoor Chopra Bhatt Trivedi Pandey Tiwari Dubey Yadav Jain Shah Goel Bansal Arora",
        syllables="ra vi sri ana pra su ha ma ni ka shi di ja ga ve na pa sa ku ro",
        two_syllable=0.5,
        roots="Krishna Venkat Rama Subra Bala Chandra Siva Ragha Nara Gopala Sunda Vijaya",
        endings="murthy swamy moorthy raman esan nathan krishnan rao kumar",
        compound=0.35,
        middle=_INITIALS,
        middle_rate=0.25,
        family_skew=0.7,
    ),
    "english": _Culture(
        0.17,
        "John Sarah Michael Emily David Jessica James Ashley Robert Jennifer William Amanda Daniel "
        "Rachel Matthew Laura Christopher Megan Andrew Hannah Joshua Olivia Ryan Samuel Thomas "
        "Benjamin Alexander Nicholas Katherine Elizabeth Noah Grace Ethan Chloe Lucas Zoe Liam "
        "Peter Paul Mark Kevin Brian Steven Jason Eric Adam Aaron Nathan Kyle Jacob Tyler Alice "
        "Jack Henry Oliver George Charlotte Amelia Isabella Sophia Mia Evelyn Harper Abigail "
        "Emma Ava Ella Scarlett Victoria Madison Luna Nora Lily Eleanor Hazel Aurora Violet "
        "Owen Caleb Isaac Luke Gabriel Anthony Dylan Leo Jonathan Connor Evan Aiden Colin",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
        "Jackson Martin Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright "
        "Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans "
        "Turner",
        roots="Ash Black Brook Cal Fair Hart Kings Mar Ox Red Rid Whit Wood Stan Brad Crom Dun "
        "Ell Hal Lang Mor Pem Rad Shel Thorn Wes",
        endings="ford ley ton wood well by field man son worth ham ridge ington stone",
        compound=0.5,
        middle=_INITIALS,
        middle_rate=0.35,
    ),
    "german_nordic": _Culture(
        0.10,
        "Björn Søren Jörg Jürgen Günter Åsa Lars Mads Anders Henrik Sven Katrin Ulrike Matthias "
        "Stefan Tobias Maximilian Jonas Lukas Felix Annika Kirsten Torsten Dörte Bjørn Ørjan "
        "Jens Niklas Malte Hauke Sönke Märta Ingrid Sigrid Ragnar Leif Jörn Björg Gösta Håkan "
        "Göran Jöran Mårten Pål Nils Erik Karl Olaf Ulf Timo Jan Moritz Paul Hannes Frauke Inga",
        "Ommer Müller Schäfer Jørgensen Sørensen Nørgaard Weiß Köhler Brändle Lindqvist Åström "
        "Hauberg Schmidt Schneider Fischer Meyer Wagner Becker Hoffmann Schulz Koch Richter Wolf "
        "Krüger Hofmann Lehmann Schröder Neumann Zimmermann Braun Hansen Nielsen Andersen "
        "Johansson Karlsson Eriksson Bäckström Øvergaard Löwe",
        roots="Ober Lind Rosen Schön Grün Bäck Holm Ås Sten Berg Hag Kirch Wald Brand Stein "
        "Eich Feld Hof Mühl Fried Sund Dahl Kjær Gød Strøm",
        endings="berg mann er stein feld ström qvist gaard holm dal hoff ke inger bauer rich",
        compound=0.55,
        middle=_INITIALS,
        middle_rate=0.25,
    ),
    "romance": _Culture(
        0.11,
        "José François Hélène Zoé Jérôme Andrés María João Inês Sebastián Iñaki Renée Amélie "
        "Gaël Loïc Nicolás Martín Joaquín Ramón Ángel Lucía Inés Sofía Valentina Matteo Giulia "
        "Francesco Chiara Lorenzo Elena Pierre Camille Antoine Mathilde Gonçalo Raúl",
        "García Martínez Pérez Gómez Lefèvre Dubois Côté Gonçalves Muñoz Ibáñez Rodríguez "
        "Fernández López Sánchez Ramírez Hernández Díaz Álvarez Núñez Peña Rossi Russo Ferrari "
        "Esposito Bianchi Romano Colombo Ricci Moreau Laurent Lefebvre Girard Bonnet Mercier "
        "Lezama Araújo Conceição Ribeiro",
        roots="Vill Cast Mont Font Val Mar Bel Ros Gal Ferr Sant Carv Bar Cor Lup",
        endings="ano ini etti ez eau ier ero ales ino elli ás ón ière",
        compound=0.5,
        middle="Ángel María José Luis Carlos",
        middle_rate=0.1,
        double_family=0.35,
    ),
    "slavic": _Culture(
        0.06,
        "Łukasz Paweł Jiří Tomáš Miloš Ştefan Dragoș Małgorzata Agnieszka Piotr Krzysztof Ivan "
        "Dmitry Sergey Olga Natalia Aleksandr Mikhail Anastasia Yulia Nikola Marija Ondřej "
        "Katarzyna Magdalena Wojciech Michał Jakub Marek Petra Lucie Zdeněk Radek Bogdan Milan "
        "Vladimir Andrei Ekaterina Irina Tatiana Pavel Alexei Denis Goran Dušan Vesna Ana",
        "Kowalski Wiśniewski Novák Dvořák Petrović Popescu Nowak Wójcik Kamiński Lewandowski "
        "Zieliński Ivanov Petrov Smirnov Kuznetsov Popov Sokolov Jovanović Horváth Szabó Čech",
        roots="Kowal Wiśn Nov Dvor Petr Ivan Sokol Kuzn Zhuk Mar Grab Lis Wol Krav",
        endings="ski ska wicz ov ova enko ić ák",
        compound=0.7,
        family_skew=0.6,
    ),
    "mena": _Culture(
        0.04,
        "Ahmed Mohammed Fatima Ömer Çağrı Şükrü Ali Hassan Layla Yousef Omar Amir Reza Sara "
        "Mehmet Ayşe Emre Zeynep Hamid Nasrin Karim Leila Mustafa Ibrahim Mahmoud Nour Yasmin",
        "Hassan Ali Yılmaz Öztürk Şahin Karimi Hosseini Demir Çelik Kaya Aydın Rahman Haddad "
        "Khalil Mansour Farahani Ahmadi Rezaei Mousavi Abdullah Aksoy Erdoğan Kılıç Nasser",
        roots="Kara Ak Er Gül Dem Yıl Öz Kay Sar Tok Bay Can Çak Gök Al Mir Nour Ras Sal Zar",
        endings="soy kaya han türk doğan taş ci ani zadeh pour",
        compound=0.6,
        family_skew=0.6,
    ),
    "vietnamese": _Culture(
        0.02,
        "Minh Anh Đức Thảo Huy Linh Tuấn Hương Quang Trang Dũng Phương Khoa Ngọc Long Hải",
        "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô",
        middle="Văn Thị Đức Minh Hoàng",
        middle_rate=0.5,
        family_skew=1.2,
    ),
}

# A few fixed names at fixed popularity ranks, so benchmarks can look them up by name.
ANCHOR_AUTHORS = {
    0: "Wei Wang",
    1: "Yu Zhang",
    3: "Lei Zhang",
    9: "Björn Ommer",
    40: "Søren Hauberg",
    150: "José Lezama",
    700: "Łukasz Kowalski",
    3000: "Ji-won Park",
    20000: "Nguyễn Minh",
}


class AuthorPool:
    """Ranked author names: rank 0 is the most prolific; rank -> name is fixed by the seed.

    A rank is a name slot, not a person: two ranks may draw the same common name ("Wei Wang"),
    which then accumulates both slots' papers, as homonyms do in real author lists.
    """

    def __init__(self, size: int, seed: int = DEFAULT_SEED):
        self.size = size
        self.seed = seed
        self._cultures = list(_CULTURES.values())
        self._culture_cum = list(itertools.accumulate(c.weight for c in self._cultures))
        # Productivity: weight of rank r = 1 / (r + 750). With ~7 links per paper and a pool
        # of 1.5 x papers, the top ranks land on ~0.1-0.2% of papers, most ranks on 1-3.
        self.cum = _zipf_cum(size, s=1.0, offset=750.0)
        self._names: list[str | None] = [None] * size

    def name(self, rank: int) -> str:
        if rank < self.size:
            cached = self._names[rank]
            if cached is not None:
                return cached
        name = ANCHOR_AUTHORS.get(rank)
        if name is None:
            rng = random.Random(_mix(rank * 31 + self.seed * 7_368_787))
            pick = bisect.bisect(self._culture_cum, rng.random() * self._culture_cum[-1])
            name = self._cultures[pick].name(rng)
        if rank < self.size:
            self._names[rank] = name
        return name

    def sample(self, rng: random.Random, count: int) -> list[str]:
        """`count` distinct names, weighted by productivity, in author-list order."""
        names: dict[str, None] = {}
        while len(names) < count:
            for rank in rng.choices(range(self.size), cum_weights=self.cum, k=count - len(names)):
                names[self.name(rank)] = None
        return list(names)


# ------------------------------------------------------------------------------------------
# Other paper fields.

ORGANIZATIONS = """
Google|Meta|Microsoft|NVIDIA|Alibaba|Tencent|ByteDance|DeepSeek|OpenAI|Anthropic|Apple|Amazon|
Baidu|Huawei|Samsung|Naver|Kakao|LG AI Research|Sony|Adobe|Salesforce|IBM|Allen AI|Mistral|
Hugging Face|Stability AI|Shanghai AI Lab|Tsinghua University|Peking University|Stanford|MIT|
CMU|UC Berkeley|ETH Zurich|EPFL|KAIST|Seoul National University|University of Tokyo|Oxford|
Cambridge|Max Planck|INRIA|Mila|Vector Institute
"""

_ABSTRACT_OPENERS = [
    "We present {name}, a {mod} approach to {task}.",
    "This paper introduces {name}, {a_np} for {task}.",
    "We propose {name}, which combines {np} with {np2}.",
    "In this work we study {task} and introduce {name}.",
]
_SENTENCES = [
    "{Task} remains challenging for current {np} because of {aspect_l} issues.",
    "Existing methods rely on {np} and struggle with {task_l}.",
    "Our key insight is that {np} can be trained with {np2} at a fraction of the cost.",
    "We design {a_np} that scales to {n} billion parameters without loss of {aspect_l}.",
    "Experiments on {n} benchmarks show that our method improves {task_l} by {p} points.",
    "Compared with strong baselines, {name} achieves state-of-the-art results on {n} datasets.",
    "We further analyse the {aspect_l} of {np} and find that {np2} matters most.",
    "Ablations confirm that each component contributes to the final performance.",
    "The approach requires no additional training and works with any {np}.",
    "We release code, data and model weights to support future research on {task_l}.",
    "A user study with {n} participants confirms the gains in {aspect_l}.",
    "Our analysis reveals a trade-off between {aspect_l} and efficiency in {np}.",
    "To address this, we collect a dataset of {n} thousand examples covering {task_l}.",
    "Results indicate that {np} generalises to unseen domains and longer inputs.",
]


class Corpus:
    """Streams `papers` synthetic papers in daily lists; deterministic for a given seed."""

    def __init__(self, papers: int, seed: int = DEFAULT_SEED):
        self.papers = papers
        self.seed = seed
        self.authors = AuthorPool(max(5_000, papers * 3), seed)
        self._mod = _Pick(_split(MODIFIERS), s=0.9, offset=3.0)
        self._dom = _Pick(_split(DOMAINS), s=0.9, offset=3.0)
        self._head = _Pick(_split(HEADS), s=0.95, offset=2.5)
        self._task = _Pick(_split(TASKS), s=0.8, offset=4.0)
        self._verbing = _Pick(_split(VERBING), s=0.8)
        self._verb = _Pick(_split(VERBS), s=0.8)
        self._aspect = _Pick(_split(ASPECTS), s=0.8)
        self._rare = _split(RARE_WORDS)
        self._org = _Pick(_split(ORGANIZATIONS), s=0.7)
        # System names: 400k ranked names, Zipf so a few are reused often and most once.
        self._name_cum = _zipf_cum(400_000, s=1.0, offset=10.0)

    # -- titles -------------------------------------------------------------------------

    def system_name(self, rng: random.Random) -> str:
        rank = bisect.bisect(self._name_cum, rng.random() * self._name_cum[-1])
        return system_name(rank, self.seed)

    def _np(self, rng: random.Random) -> str:
        words = []
        r = rng.random()
        for _ in range(0 if r < 0.3 else 1 if r < 0.8 else 2):
            words.append(self._mod(rng))
        r = rng.random()
        for _ in range(0 if r < 0.25 else 1 if r < 0.85 else 2):
            words.append(self._dom(rng))
        if rng.random() < 0.03:
            words.append(rng.choice(self._rare))
        words.append(self._head(rng))
        return " ".join(dict.fromkeys(words))

    def _subtitle(self, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.06:
            return self._np(rng)
        if r < 0.36:
            return f"{self._np(rng)} for {self._task(rng)}"
        if r < 0.44:
            return f"{self._np(rng)} via {self._np(rng)}"
        if r < 0.53:
            return f"{self._np(rng)} with {self._np(rng)}"
        if r < 0.63:
            return f"{self._verbing(rng)} {self._np(rng)} with {self._np(rng)}"
        if r < 0.70:
            return f"{self._verbing(rng)} {self._task(rng)} in {self._np(rng)}"
        if r < 0.74:
            return f"Learning to {self._verb(rng)} with {self._np(rng)}"
        if r < 0.78:
            return f"On the {self._aspect(rng)} of {self._np(rng)}"
        if r < 0.81:
            return f"When {self._np(rng)} Meets {self._np(rng)}"
        if r < 0.82:
            return f"{self._np(rng)} Is All You Need"
        if r < 0.92:
            return f"{self._np(rng)} in {self._task(rng)}"
        return f"{self._np(rng)} and {self._np(rng)} for {self._task(rng)}"

    def title(self, rng: random.Random) -> tuple[str, str | None]:
        """(title, system name or None)."""
        if rng.random() < 0.33:
            name = self.system_name(rng)
            return f"{name}: {self._subtitle(rng)}", name
        if rng.random() < 0.04:  # a rare word up front: "Koopman Operators for ..."
            return f"{rng.choice(self._rare)} {self._subtitle(rng)}", None
        return self._subtitle(rng), None

    # -- abstracts ----------------------------------------------------------------------

    @cached_property
    def _sentence_pool(self) -> list[str]:
        rng = random.Random(self.seed * 101 + 7)
        return [self._sentence(rng, rng.choice(_SENTENCES), "our method") for _ in range(6000)]

    def _sentence(self, rng: random.Random, template: str, name: str) -> str:
        task = self._task(rng)
        return template.format(
            name=name,
            mod=self._mod(rng).lower(),
            np=self._np(rng).lower(),
            np2=self._np(rng).lower(),
            a_np="a " + self._np(rng).lower(),
            task=task.lower(),
            Task=task,
            task_l=task.lower(),
            aspect_l=self._aspect(rng).lower(),
            n=rng.randint(2, 40),
            p=rng.randint(1, 25),
        )

    @cached_property
    def _opener_pool(self) -> list[str]:
        rng = random.Random(self.seed * 103 + 11)
        return [self._sentence(rng, rng.choice(_ABSTRACT_OPENERS), "{name}") for _ in range(2000)]

    def abstract(self, rng: random.Random, name: str | None) -> str:
        opener = self._opener_pool[int(rng.random() * 2000)].replace(
            "{name}", name or "a new method"
        )
        pool = self._sentence_pool
        body = [pool[int(rng.random() * len(pool))] for _ in range(rng.randint(11, 17))]
        return " ".join([opener, *body])

    # -- papers and lists ---------------------------------------------------------------

    def _author_count(self, rng: random.Random) -> int:
        return min(30, 3 + int(rng.expovariate(1 / 4.0)))

    @staticmethod
    def _upvotes(rng: random.Random) -> int:
        return min(3000, int((rng.paretovariate(1.15) - 1) * 5))

    def iter_papers(self) -> Iterator[Paper]:
        rng = random.Random(self.seed)
        year, month = START_MONTH
        month_size = rng.randint(20_000, 30_000)
        seq = 0
        for _ in range(self.papers):
            seq += 1
            if seq > month_size:
                year, month = (year, month + 1) if month < 12 else (year + 1, 1)
                month_size, seq = rng.randint(20_000, 30_000), 1
            title, name = self.title(rng)
            published = datetime(year, month, 1, tzinfo=UTC) + timedelta(
                minutes=int(seq / month_size * 27 * 24 * 60)
            )
            has_repo = rng.random() < 0.35
            slug = (name or title.split()[0]).lower().replace(":", "")
            yield Paper(
                id=f"{year % 100:02d}{month:02d}.{seq:05d}",
                title=title,
                authors=self.authors.sample(rng, self._author_count(rng)),
                abstract=self.abstract(rng, name),
                upvotes=self._upvotes(rng),
                published_at=published,
                github_repo=f"https://github.com/{self._org(rng).lower().replace(' ', '-')}/{slug}"
                if has_repo
                else None,
                github_stars=int(rng.paretovariate(1.0) * 10) if has_repo else None,
                project_page=f"https://{slug}.github.io/" if rng.random() < 0.25 else None,
                ai_summary=self._sentence_pool[rng.randrange(6000)] if rng.random() < 0.6 else None,
                ai_keywords=[self._dom(rng).lower() for _ in range(rng.randint(3, 6))]
                if rng.random() < 0.5
                else [],
                num_comments=min(50, int(rng.expovariate(0.7))),
                organization=self._org(rng) if rng.random() < 0.4 else None,
            )

    def iter_daily_lists(self) -> Iterator[DailyList]:
        """Daily lists of ~50-150 papers, one per calendar day from START_DAY."""
        rng = random.Random(self.seed * 17 + 3)
        papers = self.iter_papers()
        day = START_DAY
        while True:
            todays = list(itertools.islice(papers, int(rng.triangular(50, 150, 90))))
            if not todays:
                return
            todays.sort(key=lambda p: p.upvotes or 0, reverse=True)  # lists rank by votes
            yield DailyList(day=day, papers=todays)
            day += timedelta(days=1)

    def iter_batches(self, days_per_batch: int) -> Iterator[list[DailyList]]:
        """Daily lists grouped `days_per_batch` at a time (one write transaction each)."""
        lists = self.iter_daily_lists()
        while batch := list(itertools.islice(lists, days_per_batch)):
            yield batch


def iter_daily_lists(papers: int, seed: int = DEFAULT_SEED) -> Iterator[DailyList]:
    """Stream `papers` synthetic papers as daily lists."""
    return Corpus(papers, seed).iter_daily_lists()


def iter_batches(papers: int, days_per_batch: int, seed: int = DEFAULT_SEED):
    """Stream `papers` synthetic papers as batches of `days_per_batch` daily lists."""
    return Corpus(papers, seed).iter_batches(days_per_batch)


def describe(papers: int = 20_000, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Statistics of a corpus sample: word shares, author counts, abstract length, upvotes."""
    import re
    import statistics
    from collections import Counter

    from storage.search_text import tokens

    corpus = Corpus(papers, seed)
    titles = 0
    word_titles: Counter[str] = Counter()
    prefix_hits = Counter()
    author_papers: Counter[str] = Counter()
    n_authors, abstract_words, upvotes, named = [], [], [], 0
    days = 0
    for daily in corpus.iter_daily_lists():
        days += 1
        for paper in daily.papers:
            titles += 1
            words = set(tokens(paper.title))
            word_titles.update(words)
            for pre in ("model", "mo", "la", "tr"):
                prefix_hits[pre] += any(w.startswith(pre) for w in words)
            named += bool(re.match(r"^[^:]+: ", paper.title))
            n_authors.append(len(paper.authors))
            author_papers.update(paper.authors)
            abstract_words.append(len(paper.abstract.split()))
            upvotes.append(paper.upvotes)
    per_author = sorted(author_papers.values(), reverse=True)
    return {
        "papers": titles,
        "days": days,
        "share_model*": prefix_hits["model"] / titles,
        "share_prefix": {p: prefix_hits[p] / titles for p in ("mo", "la", "tr")},
        "share_words": {
            w: word_titles[w] / titles
            for w in ("language", "large", "learning", "diffusion", "video", "wasserstein")
        },
        "named_titles": named / titles,
        "distinct_title_words": len(word_titles),
        "authors_per_paper": (min(n_authors), statistics.median(n_authors), max(n_authors)),
        "distinct_authors": len(per_author),
        "top_author_papers": per_author[:5],
        "authors_with_1_paper": sum(1 for c in per_author if c == 1) / len(per_author),
        "abstract_words": (min(abstract_words), statistics.median(abstract_words)),
        "upvotes_median_p99_max": (
            statistics.median(upvotes),
            sorted(upvotes)[int(len(upvotes) * 0.99)],
            max(upvotes),
        ),
    }


if __name__ == "__main__":
    import sys

    for key, value in describe(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000).items():
        print(f"{key:>24}: {value}")
