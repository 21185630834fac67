"""Every fixed text a user reads, in English, Ukrainian and Russian, for the CLI and the bot.

text(name, language) picks the user's language, English when there is no translation. HTML
texts (HELP) are already markup; the others are plain and are escaped where they are sent.
"""

from __future__ import annotations

LANGUAGES = ("en", "uk", "ru")

TEXTS: dict[str, dict[str, str]] = {
    "not_in_sources": {
        "en": "Not in my sources: the indexed articles do not answer this question.",
        "uk": "Цього немає в моїх джерелах: проіндексовані статті не відповідають на це питання.",
        "ru": "Этого нет в моих источниках: проиндексированные статьи не отвечают на этот вопрос.",
    },
    # The bot adds where to look.
    "see_sources": {
        "en": "Send /sources to see what I cover.",
        "uk": "Надішліть /sources, щоб побачити, що я охоплюю.",
        "ru": "Отправьте /sources, чтобы увидеть, что я охватываю.",
    },
    "help": {
        "en": (
            "<b>Ask me about the Ukraine–Russia peace talks.</b>\n"
            "Articles in my index: {count}{newest}. I answer with the articles' exact words, "
            "each quote with its source, and I say so when my sources do not cover a question."
            "\n\n<b>Try:</b>\n{examples}\n\n"
            "/sources lists the articles, /latest the newest. In a group, mention me or reply "
            "to me. "
            "In any chat, type my @username and a question. I also understand Ukrainian and "
            "Russian."
        ),
        "uk": (
            "<b>Запитуйте мене про мирні переговори України та Росії.</b>\n"
            "Статей у моїй базі: {count}{newest}. Я відповідаю точними словами статей (вони "
            "англійською), кожна цитата — з джерелом, і кажу, коли мої джерела не охоплюють "
            "питання.\n\n<b>Спробуйте:</b>\n{examples}\n\n"
            "/sources — список статей, /latest — найновіші. У групі згадайте мене або "
            "відповідайте на моє "
            "повідомлення."
        ),
        "ru": (
            "<b>Спрашивайте меня о мирных переговорах Украины и России.</b>\n"
            "Статей в моей базе: {count}{newest}. Я отвечаю точными словами статей (они "
            "на английском), каждая цитата — с источником, и говорю, когда мои источники не "
            "охватывают вопрос.\n\n<b>Попробуйте:</b>\n{examples}\n\n"
            "/sources — список статей, /latest — самые новые. В группе упомяните меня или "
            "ответьте на моё сообщение."
        ),
    },
    "newest": {
        "en": ", the newest from {date}",
        "uk": ", найновіша від {date}",
        "ru": ", самая новая от {date}",
    },
    "too_fast": {
        "en": "You are asking faster than I can answer well: please wait {wait} s and ask again.",
        "uk": "Ви питаєте швидше, ніж я встигаю добре відповідати: зачекайте {wait} с і "
        "спитайте знову.",
        "ru": "Вы спрашиваете быстрее, чем я успеваю хорошо отвечать: подождите {wait} с и "
        "спросите снова.",
    },
    "unknown_command": {
        "en": "I don't know the command {command}. Send /help to see what I do.",
        "uk": "Я не знаю команди {command}. Надішліть /help, щоб побачити, що я вмію.",
        "ru": "Я не знаю команды {command}. Отправьте /help, чтобы увидеть, что я умею.",
    },
    "text_only": {
        "en": "I can only read questions written as text. Send me your question as a message, "
        "for example: Who leads Ukraine's delegation?",
        "uk": "Я читаю лише питання, написані текстом. Надішліть питання повідомленням, "
        "наприклад: Хто очолює делегацію України?",
        "ru": "Я читаю только вопросы, написанные текстом. Отправьте вопрос сообщением, "
        "например: Кто возглавляет делегацию Украины?",
    },
    "went_wrong": {
        "en": "Sorry, something went wrong while answering. Please try again in a moment.",
        "uk": "Вибачте, під час відповіді щось пішло не так. Спробуйте ще раз за мить.",
        "ru": "Извините, при ответе что-то пошло не так. Попробуйте ещё раз через минуту.",
    },
    "answering": {
        "en": "Answering: {question}",
        "uk": "Відповідаю на: {question}",
        "ru": "Отвечаю на: {question}",
    },
    "feedback_thanks": {
        "en": "Thanks for telling me.",
        "uk": "Дякую, що сказали.",
        "ru": "Спасибо, что сказали.",
    },
    "feedback_already": {
        "en": "You have already rated this answer.",
        "uk": "Ви вже оцінили цю відповідь.",
        "ru": "Вы уже оценили этот ответ.",
    },
    "feedback_gone": {
        "en": "That answer is too old to rate now.",
        "uk": "Ця відповідь надто давня, щоб її оцінити.",
        "ru": "Этот ответ слишком старый, чтобы его оценить.",
    },
    "correction_prompt": {
        "en": "Sorry I got that wrong. If you know the right answer, reply to this message "
        "with it: the editors will see it.",
        "uk": "Вибачте, що помилився. Якщо знаєте правильну відповідь, надішліть її у відповідь "
        "на це повідомлення: редактори її побачать.",
        "ru": "Извините, что ошибся. Если знаете правильный ответ, пришлите его ответом на это "
        "сообщение: редакторы его увидят.",
    },
    "correction_thanks": {
        "en": "Thank you: the editors will see your answer.",
        "uk": "Дякую: редактори побачать вашу відповідь.",
        "ru": "Спасибо: редакторы увидят ваш ответ.",
    },
    "more_expired": {
        "en": "That answer is too old for more sources: please ask again.",
        "uk": "Ця відповідь надто давня для інших джерел: спитайте ще раз.",
        "ru": "Этот ответ слишком старый для других источников: спросите ещё раз.",
    },
    "more_sources": {
        "en": "More sources ({count})",
        "uk": "Інші джерела ({count})",
        "ru": "Другие источники ({count})",
    },
    "more_heading": {
        "en": "More from the sources:",
        "uk": "Більше з джерел:",
        "ru": "Больше из источников:",
    },
    "as_of": {
        "en": "As of {date}.",
        "uk": "Станом на {date}.",
        "ru": "По состоянию на {date}.",
    },
    "stale": {
        "en": "My newest source on this is from {date}, {days} days ago: there may be later news.",
        "uk": "Моє найновіше джерело про це — від {date}, {days} дн. тому: можливо, є новіші "
        "новини.",
        "ru": "Мой самый новый источник об этом — от {date}, {days} дн. назад: возможно, есть "
        "более свежие новости.",
    },
    "beyond_sources": {
        "en": "Not in my sources: you ask about a time after my newest article, which is from "
        "{date}.",
        "uk": "Цього немає в моїх джерелах: ви питаєте про час після моєї найновішої статті, "
        "вона від {date}.",
        "ru": "Этого нет в моих источниках: вы спрашиваете о времени после моей самой новой "
        "статьи, она от {date}.",
    },
    "latest_heading": {
        "en": "The newest articles in my index:",
        "uk": "Найновіші статті в моїй базі:",
        "ru": "Самые новые статьи в моей базе:",
    },
    # Editors' commands (TALKS_ADMIN_IDS): English only.
    "admin_only": {"en": "Sorry, only the bot's editors can do that."},
    "add_usage": {
        "en": "Usage: /add https://… (a public article page), or send me an .md, .txt or "
        ".html file."
    },
    "follow_usage": {"en": "Usage: /follow https://… (an RSS or Atom feed)."},
    "unfollow_usage": {"en": "Usage: /unfollow https://… (send /feeds to see them)."},
    "add_suffixes": {"en": "I can add .md, .txt and .html files as articles."},
    "add_too_large": {
        "en": "That file is larger than {limit:,} bytes: split it into several articles."
    },
    "reindex_failed": {"en": "Reindexing failed; still serving the previous index. {error}"},
}

EXAMPLES = {
    "en": (
        "Who leads Ukraine's delegation?",
        "Where did the delegations meet?",
        "What does Russia want regarding NATO?",
    ),
    "uk": ("Хто очолює делегацію Росії?", "Де відбулися переговори?"),
    "ru": ("Кто возглавляет делегацию Украины?", "Где проходят переговоры?"),
}


# Month names as a date says them ("1 липня 2025"), Ukrainian and Russian in the genitive.
MONTHS = {
    "uk": (
        "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
        "вересня", "жовтня", "листопада", "грудня",
    ),
    "ru": (
        "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
        "октября", "ноября", "декабря",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
}  # fmt: skip


def date_text(day, language: str = "en") -> str:
    """ "1 July 2025", "1 липня 2025", "1 июля 2025" (a datetime.date)."""
    months = MONTHS.get(language, MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def text(name: str, language: str = "en", **values: object) -> str:
    """The fixed text `name` in `language` (English when it has no translation), filled in."""
    variants = TEXTS[name]
    template = variants.get(language, variants["en"])
    return template.format(**values) if values else template


def language_of(code: str | None) -> str:
    """uk/ru from a language code such as Telegram's ("uk", "ru-RU"), else en."""
    short = (code or "")[:2].lower()
    return short if short in LANGUAGES else "en"
