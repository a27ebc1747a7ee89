"""Three fictional X archives for the offline demo and the tests.

Each archive is what "Download an archive of your data" gives (`data/account.js`,
`data/profile.js`, `data/tweets.js` ...), filled with about 700 template-made posts of
a fictional user with a recognisable voice: a baker, an amateur astronomer, a bike
commuter. The posts exercise every cleaning rule: retweets, replies, links alone and
glued to words, mentions, hashtags, HTML entities, emoji, newlines and posts too short
to keep. One archive splits its posts over `tweets.js` and `tweets-part1.js`; one has a
long post in `note-tweet.js`. Output is byte-identical on every run: seeded generators,
fixed dates, fixed zip timestamps.
"""

import json
import random
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# -- the personas (data) -----------------------------------------------------------------


@dataclass(frozen=True)
class _Persona:
    username: str
    display_name: str
    account_id: str
    bio: str
    location: str
    seed: int
    posts: int
    slots: dict[str, tuple[str, ...]]
    templates: tuple[str, ...]
    replies: tuple[str, ...]
    short: tuple[str, ...]
    retweets: tuple[tuple[str, str], ...]
    hashtags: tuple[str, ...]
    emoji: tuple[str, ...]
    friends: tuple[str, ...]


_BAKER = _Persona(
    username="maya_bakes",
    display_name="Maya 🍞 Okafor",
    account_id="1184467201",
    bio="Sourdough, rye & far too much butter. Baker at a tiny neighbourhood bakery.",
    location="Leeds",
    seed=11,
    posts=704,
    slots={
        "bread": (
            "sourdough",
            "rye loaf",
            "seeded batard",
            "focaccia",
            "baguette",
            "brioche",
            "country loaf",
            "spelt boule",
            "cinnamon buns",
            "croissants",
        ),
        "flour": ("strong white", "wholemeal", "dark rye", "spelt", "einkorn", "emmer"),
        "hydration": ("68", "72", "75", "78", "80", "85"),
        "time": (
            "at 5am",
            "before sunrise",
            "at half four",
            "all night",
            "since midnight",
            "before the first customer",
        ),
        "feeling": (
            "proud",
            "humbled",
            "giddy",
            "sleepy but happy",
            "a bit smug",
            "covered in flour",
        ),
        "starter": ("Doug", "Doug the starter", "my levain", "the starter"),
        "result": (
            "great oven spring",
            "an open crumb",
            "a blistered crust",
            "a proper ear",
            "a glossy crumb",
            "a crackly crust",
        ),
        "problem": (
            "a flat loaf",
            "a gummy crumb",
            "a burnt bottom",
            "an underproofed batch",
            "a tight crumb",
            "a sticky dough",
        ),
        "customer": (
            "A regular",
            "A tiny customer",
            "The postman",
            "A lady from the allotments",
            "A kid in a dino jumper",
        ),
    },
    templates=(
        "Fed {starter} {time} and the {bread} is finally in the oven. Hoping for {result}.",
        "Today's {bread}: {hydration}% hydration, {flour} & a long cold retard. Got {result} "
        "and I am {feeling}.",
        "Reminder that {problem} is not a failure, it's just toast waiting to happen.",
        "Tried {flour} in the {bread} this week. Nuttier, thirstier, and {result}. Keeping it.",
        "Shaping {bread} {time}. The dough felt like a sleepy cat, which is exactly right.",
        "{customer} asked why the {bread} costs more than the supermarket one. Forty hours, "
        "that's why.",
        "If your {bread} gives you {problem}, check your starter first, your oven second & "
        "your patience third.",
        "Oven at 250C, steam tray in, {bread} scored. Now we wait and pretend not to peek.",
        "Hot take: {flour} makes better {bread} than anything else on the shelf.",
        "{starter} doubled in four hours today. Warm kitchen > any recipe.",
        "Lamination day. Butter at 12C, dough at 4C, baker at roughly 30% capacity.",
        "Sold out of {bread} by ten, thank you all. Tomorrow there will be more, I promise.",
        "Baking lesson of the week: {problem} usually means the dough needed more time, "
        "not more yeast.",
        "Proof, fold, wait, fold, wait. {bread} is a slow conversation & I love it.",
        "The smell of {bread} {time} is the whole reason I do this job.",
        'Someone left a note saying "best {bread} in town" and I may have cried into the '
        "flour bin.",
    ),
    replies=(
        "yes! try a longer cold proof, it fixes almost everything",
        "that crumb is gorgeous, what hydration was that?",
        "honestly {flour} is worth the hunt, your {bread} will thank you",
        "ha, {starter} says hello back",
        "no shame in {problem}, we have all been there & we will be there again",
        "come by the bakery on Saturday, I'll save you some {bread}",
        "oh that's {result} for sure, well done!",
    ),
    short=(
        "lol",
        "yes!! https://t.co/Xb3kQ9",
        "@rye_guy #tbt wow",
        "🍞🍞🍞",
        "so tired",
        "BREAD https://t.co/Lm2Pq8",
        "@crumbshotclub same",
        "#sourdough &lt;3",
        "omg",
    ),
    retweets=(
        (
            "millhouse_flour",
            "Real bread needs only flour, water & salt. Everything else is a "
            "choice. https://t.co/Rb4Kx1Wq",
        ),
        (
            "breadhistorian",
            "The oldest bread ever found is 14,000 years old. Your starter is a baby.",
        ),
        ("ovenspring_ana", "Crumb shot thread! Show me your best loaf of the week 👇"),
        ("crumbshotclub", "This week's theme: rye. Tag us & we'll share our favourites."),
    ),
    hashtags=("#sourdough", "#realbread", "#breadmaking", "#rye", "#bakery", "#levain"),
    emoji=("🍞", "🥐", "🔥", "😴", "🥖", "✨", "🧈"),
    friends=("crumbshotclub", "rye_guy", "flour_power_sam", "ovenspring_ana"),
)

_ASTRONOMER = _Persona(
    username="ollie_stargazes",
    display_name="Ollie Brandt 🔭",
    account_id="2291840377",
    bio="Amateur astronomer with a Dobsonian, a red torch & an unreasonable love of clouds.",
    location="Northumberland",
    seed=23,
    posts=697,
    slots={
        "target": (
            "Jupiter",
            "Saturn",
            "the Orion Nebula",
            "M13",
            "the Andromeda Galaxy",
            "the Pleiades",
            "Mars",
            "the Ring Nebula",
            "the Moon's terminator",
            "Albireo",
        ),
        "scope": (
            "the 8-inch Dob",
            "the little refractor",
            "my old 114mm reflector",
            "the binoculars",
            "the big Dob",
        ),
        "sky": ("Bortle 4", "Bortle 6", "Hazy", "Crystal clear", "Moonless", "Windy"),
        "seeing": ("rock steady", "boiling", "decent", "surprisingly good", "awful"),
        "hour": ("1am", "2am", "midnight", "dawn", "dusk"),
        "detail": (
            "the Cassini division",
            "the Great Red Spot",
            "four Galilean moons",
            "dust lanes",
            "the Trapezium",
            "a hint of spiral arms",
            "a polar cap",
            "the colour contrast",
        ),
        "weather": (
            "the clouds rolled in",
            "the dew got everything",
            "a neighbour switched on a floodlight",
            "the wind picked up",
            "my fingers froze",
        ),
    },
    templates=(
        "Clear skies at last! Out with {scope} at {hour} and the seeing on {target} was {seeing}.",
        "Saw {detail} on {target} tonight through {scope}. Still gives me chills every time.",
        "{sky} sky tonight, seeing was {seeing}. Logged {target} & went back for seconds.",
        "Collimated {scope} for the first time in months. Stars are pinpoints again, who knew.",
        "Forty minutes on {target} until {weather}. Worth it.",
        "Observing log: {target}, {scope}, {hour}, seeing {seeing}. Notes: {detail} with "
        "averted vision.",
        "Light pollution update: the new car park lights are brighter than {target}. Writing "
        "to the council again.",
        "Tip for beginners: let {scope} cool for half an hour before you judge the view.",
        "Stars down to magnitude < 6 from the back garden tonight. That almost never happens here.",
        "Sketching {target} at the eyepiece at {hour}. My drawing is terrible but I remember "
        "every detail.",
        "Star party this weekend if the forecast holds. Bringing {scope}, flasks of tea & a "
        "red torch.",
        "Nothing beats the first look at {target} through {scope} with someone who has never "
        "seen it.",
        "Waited all week for a gap in the clouds and of course at {hour} {weather}.",
        'The "dark site" turned out to be next to a floodlit farm. Still bagged {target} though.',
        "Reminder: {target} is well placed this month. Go outside, look up, tell me what you see.",
    ),
    replies=(
        "lovely! what eyepiece were you using?",
        "I had {target} up at the same time, seeing was {seeing} here too",
        "try averted vision, {detail} pops right out",
        "clouds here as usual, enjoy it for both of us",
        "that is a seriously good sketch, better than mine",
        "happy to lend you {scope} for the star party",
    ),
    short=(
        "wow",
        "clouds. again. https://t.co/Cl0udY",
        "@nebula_nick #tbt wow",
        "🔭🔭",
        "yes!! https://t.co/x",
        "@moonwatch_mo ha",
        "brrr",
        "#clearskies &gt;&gt;",
        "lol",
    ),
    retweets=(
        (
            "nightsky_news",
            "Jupiter reaches opposition this week: biggest & brightest of the "
            "year. https://t.co/Jp0ppX2a",
        ),
        ("dark_sky_dana", "Turn off your garden lights tonight. The stars will thank you."),
        (
            "astro_club_north",
            "Star party on Saturday at the reservoir car park, 8pm, bring warm layers!",
        ),
        ("nebula_nick", "First light with the new scope and the Orion Nebula looks unreal."),
    ),
    hashtags=(
        "#astronomy",
        "#astrophotography",
        "#clearskies",
        "#stargazing",
        "#Jupiter",
        "#dobsonian",
    ),
    emoji=("🔭", "🌌", "🪐", "✨", "🌙", "☁️"),
    friends=("dark_sky_dana", "nebula_nick", "moonwatch_mo", "astro_club_north"),
)

_COMMUTER = _Persona(
    username="priya_pedals",
    display_name="Priya Raman",
    account_id="3057716645",
    bio="Bike commuter, year-round. Opinions on bike lanes, rain gear & chain lube.",
    location="Bristol",
    seed=37,
    posts=709,
    slots={
        "route": (
            "the canal path",
            "the river route",
            "the high street",
            "the new protected lane",
            "the ring road crossing",
            "the park shortcut",
        ),
        "weather": (
            "sideways rain",
            "a brutal headwind",
            "black ice",
            "glorious sunshine",
            "thick fog",
            "drizzle",
        ),
        "bike": (
            "the cargo bike",
            "my old steel tourer",
            "the folding bike",
            "the e-bike",
            "my commuter",
        ),
        "gear": (
            "panniers",
            "mudguards",
            "dynamo lights",
            "a rain cape",
            "overshoes",
            "good chain lube",
        ),
        "minutes": ("18", "22", "25", "31", "40"),
        "thing": (
            "a delivery van",
            "a taxi",
            "a bus",
            "a pothole the size of a bathtub",
            "a parked SUV",
            "a flock of geese",
        ),
        "mood": ("smug", "soaked", "alive", "grumpy", "weirdly happy"),
    },
    templates=(
        "{minutes} minutes to work on {bike} via {route}. Arrived {mood}.",
        "Today's commute featured {weather} and {thing} in the bike lane. Arrived {mood} anyway.",
        "Bike lane status on {route}: blocked by {thing}. Again.",
        "Best purchase of the year: {gear}. Worst purchase: the white trousers.",
        "Rode through {weather} on {bike} and honestly it was the best part of my day.",
        "Cars stuck in traffic on {route} while I rolled past with the panniers full of groceries.",
        'PSA: {thing} in the bike lane is not "just for a minute". It is never just for a minute.',
        "The new protected lane on {route} is open! Cycled it twice just for fun.",
        "Fixed a flat in {weather} with numb fingers. Character building, apparently.",
        "Commute maths: {minutes} minutes by bike, 45 by bus & the bike is free.",
        "Winter prep: {gear}, a spare tube, good gloves. Let the dark mornings come.",
        "Counted eleven other riders on {route} this morning. The revolution is slow but it's "
        "coming.",
        "Dear council, {route} needs a crossing that doesn't take four minutes. Love, every "
        "cyclist.",
        "Cleaned & oiled {bike} tonight. She shifts like butter now.",
        "Rode home the long way along {route} because the sunset was doing its thing.",
        "Bike > bus > car for anything under five miles, and I will die on this hill (by bike).",
        "Temperature < 2C this morning and I still beat the bus. Gloves on, coffee waiting.",
    ),
    replies=(
        "same on {route} this morning, {thing} everywhere",
        "get {gear}, it changes everything",
        "yes! the {weather} rides are the ones you remember",
        "reported it to the council, fingers crossed",
        "welcome to the club, you'll never go back to the bus",
    ),
    short=(
        "ugh",
        "yes!! https://t.co/x",
        "@bob #tbt wow",
        "🚲💨",
        "soaked",
        "@cargo_carla lol",
        "#bikelane again https://t.co/Bk1Ln3",
        "nope",
        "lol",
    ),
    retweets=(
        (
            "city_cycle_forum",
            "The new protected lane opens on Monday! Come ride it with us https://t.co/Cy4LaneZz",
        ),
        (
            "cargo_carla",
            "Took the kids, the shopping & the dog on the cargo bike. Zero parking stress.",
        ),
        ("spokes_and_co", "Winter servicing slots now open, book early & keep rolling."),
        ("tom_on_two_wheels", "Headwind both ways again. How is that even possible?"),
    ),
    hashtags=("#bikecommute", "#cycling", "#bikelane", "#carfree", "#rainride"),
    emoji=("🚲", "☔", "💨", "🌅", "😤"),
    friends=("cargo_carla", "spokes_and_co", "city_cycle_forum", "tom_on_two_wheels"),
)

_PERSONAS = (_BAKER, _ASTRONOMER, _COMMUTER)

# One long post (over 280 characters), stored like X does: in full in note-tweet.js and
# truncated with an ellipsis and a link in tweets.js.
_NOTE_TWEET_USER = "maya_bakes"
_NOTE_TWEET_TEXT = (
    "Proper weekend sourdough, the way we do it at the bakery:\n\n"
    "1. Feed Doug the starter the night before.\n"
    "2. Mix 800g strong white & 200g wholemeal with 750g water, rest an hour.\n"
    "3. Add 200g levain & 20g salt, squish it all in.\n"
    "4. Four sets of stretch & folds, 30 minutes apart.\n"
    "5. Bulk until it has grown by half & jiggles like jelly.\n"
    "6. Shape, basket, fridge overnight.\n"
    "7. Bake at 250C with steam for 20 minutes, lid off for 25 more.\n\n"
    "The crust should crackle as it cools. If it doesn't, bake longer next time. "
    "No shame, just toast."
)
# The archive whose posts are split over tweets.js and tweets-part1.js (the oldest ones).
_MULTI_PART_USER = "ollie_stargazes"
_PART1_POSTS = 250

# Mix of post kinds: cumulative thresholds of one uniform draw per post.
_RETWEET_SHARE, _SHORT_SHARE, _REPLY_SHARE = 0.09, 0.16, 0.33
_TWO_SENTENCES_MAX = 200
_NEWEST_POST = datetime(2024, 3, 1, 18, 4, 11, tzinfo=UTC)
_TWITTER_EPOCH_MS = 1288834974657
_ZIP_TIME = (2024, 3, 2, 0, 0, 0)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINK_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# -- writing ------------------------------------------------------------------------------


def write_sample_archives(dest: Path) -> list[Path]:
    """Write the three sample archives as `dest/<username>.zip`; return their paths."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, persona in enumerate(_PERSONAS):
        path = dest / f"{persona.username}.zip"
        _write_zip(path, _archive_files(persona, index))
        paths.append(path)
    return paths


def _archive_files(persona: _Persona, index: int) -> dict[str, str]:
    """Archive member name -> content, for one persona."""
    rng = random.Random(persona.seed)
    tweets = [_tweet(persona, index, rng, n) for n in range(persona.posts)]
    notes = []
    if persona.username == _NOTE_TWEET_USER:
        notes.append(_add_note_tweet(tweets, rng))
    files = {
        "data/account.js": _js("account", [{"account": _account(persona)}]),
        "data/profile.js": _js("profile", [{"profile": _profile(persona)}]),
    }
    wrapped = [{"tweet": t} for t in tweets]
    if persona.username == _MULTI_PART_USER:
        files["data/tweets.js"] = _js("tweets", wrapped[:-_PART1_POSTS])
        files["data/tweets-part1.js"] = _js("tweets", wrapped[-_PART1_POSTS:], part=1)
    else:
        files["data/tweets.js"] = _js("tweets", wrapped)
    if notes:
        files["data/note-tweet.js"] = _js("note_tweet", [{"noteTweet": n} for n in notes])
    return files


def _write_zip(path: Path, files: dict[str, str]) -> None:
    # Fixed member timestamps and attributes: the same content gives the same bytes.
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content.encode("utf-8"))


def _js(name: str, items: list[dict], part: int = 0) -> str:
    # X's own layout: a JavaScript assignment of pretty-printed JSON with " : ".
    body = json.dumps(items, ensure_ascii=False, indent=2, separators=(",", " : "))
    return f"window.YTD.{name}.part{part} = {body}"


def _account(persona: _Persona) -> dict:
    return {
        "email": f"{persona.username}@example.org",
        "createdVia": "web",
        "username": persona.username,
        "accountId": persona.account_id,
        "createdAt": "2014-06-02T09:12:44.000Z",
        "accountDisplayName": persona.display_name,
    }


def _profile(persona: _Persona) -> dict:
    return {
        "description": {"bio": persona.bio, "website": "", "location": persona.location},
        "avatarMediaUrl": f"https://example.org/avatars/{persona.username}.png",
        "headerMediaUrl": f"https://example.org/headers/{persona.username}.png",
    }


# -- posts --------------------------------------------------------------------------------


def _tweet(persona: _Persona, index: int, rng: random.Random, n: int) -> dict:
    """The n-th newest post: its kind, text and reply fields drawn from `rng`."""
    created = _NEWEST_POST - timedelta(
        minutes=n * 1370 + rng.randint(0, 1200), seconds=rng.randint(0, 59)
    )
    text, reply_to = _post_text(persona, rng)
    return _tweet_record(_snowflake(created, index, n), created, text, reply_to, rng)


def _post_text(persona: _Persona, rng: random.Random) -> tuple[str, str | None]:
    """(text as X stores it, the handle replied to or None) of one post of a drawn kind."""
    draw = rng.random()
    if _RETWEET_SHARE <= draw < _SHORT_SHARE:
        # Short posts are written already encoded (`&lt;3`): they are used as they are.
        text = rng.choice(persona.short)
        return text, text[1:].split()[0] if text.startswith("@") else None
    reply_to = None
    if draw < _RETWEET_SHARE:
        source, text = rng.choice(persona.retweets)
        text = f"RT @{source}: {text}"
    elif draw < _REPLY_SHARE:
        reply_to = rng.choice(persona.friends)
        text = f"@{reply_to} {_fill(rng.choice(persona.replies), persona, rng)}"
        text = _decorate(text, persona, rng, light=True)
    else:
        text = _decorate(_sentences(persona, rng), persona, rng)
    return _encode_entities(text, quotes=rng.random() < 0.3), reply_to


def _sentences(persona: _Persona, rng: random.Random) -> str:
    text = _fill(rng.choice(persona.templates), persona, rng)
    if rng.random() < 0.45:
        joiner = "\n\n" if rng.random() < 0.3 else " "
        second = _fill(rng.choice(persona.templates), persona, rng)
        # Posts stay under X's 280 characters, decorations included.
        if len(text) + len(second) < _TWO_SENTENCES_MAX:
            text += joiner + second
    return text


def _fill(template: str, persona: _Persona, rng: random.Random) -> str:
    # Only the slots a template names are drawn, so the rng sequence depends on the text.
    names = [name for name in persona.slots if "{" + name + "}" in template]
    return template.format(**{name: rng.choice(persona.slots[name]) for name in names})


def _decorate(text: str, persona: _Persona, rng: random.Random, light: bool = False) -> str:
    """Add what real posts carry: mentions, links (alone or glued), hashtags, emoji."""
    if not light and rng.random() < 0.1:
        text += f" Thanks @{rng.choice(persona.friends)}!"
    if rng.random() < 0.18:
        text += ("\n" if rng.random() < 0.3 else " ") + _link(rng)
    elif not light and rng.random() < 0.08:
        text += f" More here ({_link(rng)})"
    if rng.random() < 0.25:
        text += " " + " ".join(rng.sample(persona.hashtags, rng.randint(1, 2)))
    if rng.random() < 0.3:
        text += " " + rng.choice(persona.emoji) * rng.randint(1, 3)
    return text


def _encode_entities(text: str, quotes: bool = False) -> str:
    # X stores &, < and > encoded; a few exporters also encode quotes.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quotes else text


def _link(rng: random.Random) -> str:
    return "https://t.co/" + "".join(rng.choice(_LINK_CHARS) for _ in range(10))


def _snowflake(created: datetime, index: int, n: int) -> str:
    """An X-style id: milliseconds since X's epoch, then the user and a sequence number."""
    millis = int(created.timestamp() * 1000) - _TWITTER_EPOCH_MS
    return str((millis << 22) | ((index + 1) << 12) | (n % 4096))


def _tweet_record(
    tweet_id: str, created: datetime, text: str, reply_to: str | None, rng: random.Random
) -> dict:
    record = {
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "favorite_count": str(rng.randint(0, 40)),
        "id_str": tweet_id,
        "id": tweet_id,
        "truncated": False,
        "retweet_count": str(rng.randint(0, 6)),
        "created_at": _twitter_time(created),
        "favorited": False,
        "full_text": text,
        "lang": "en",
    }
    if reply_to:
        replied = int(tweet_id) - rng.randint(10**9, 10**12)
        record.update(
            {
                "in_reply_to_status_id_str": str(replied),
                "in_reply_to_status_id": str(replied),
                "in_reply_to_screen_name": reply_to,
            }
        )
    return record


def _twitter_time(moment: datetime) -> str:
    # Spelled out rather than strftime("%a %b"), which follows the process locale.
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{day} {month} {moment:%d %H:%M:%S} +0000 {moment.year}"


def _add_note_tweet(tweets: list[dict], rng: random.Random) -> dict:
    """Turn one original post into a long one: truncated in tweets.js, full in the note."""
    tweet = next(t for t in tweets[40:] if not t["full_text"].startswith(("RT @", "@")))
    full = _encode_entities(_NOTE_TWEET_TEXT)
    head = full[:270].rsplit(" ", 1)[0]
    tweet["full_text"] = f"{head}… {_link(rng)}"
    created = _parse_twitter_time(tweet["created_at"])
    iso = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "noteTweetId": str(int(tweet["id_str"]) + 7),
        "updatedAt": iso,
        "lifecycle": {"value": "live", "name": "Live", "originalName": "live", "annotations": {}},
        "createdAt": iso,
        "core": {
            "styletags": [],
            "urls": [],
            "text": full,
            "mentions": [],
            "cashtags": [],
            "hashtags": [],
        },
    }


def _parse_twitter_time(text: str) -> datetime:
    _, month, day, clock, _, year = text.split()
    hours, minutes, seconds = (int(x) for x in clock.split(":"))
    return datetime(
        int(year), _MONTHS.index(month) + 1, int(day), hours, minutes, seconds, tzinfo=UTC
    )
