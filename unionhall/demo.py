"""`unionhall demo`: fill a fresh instance with a realistic profile, meetings and a few
multilingual statements, so a `make run` user sees the site, the admin, the calendars and
federation with something in them.

Everything goes through the outbox, as an admin's own actions would: followers (if any) receive
it all. The words come from the documents this project grew from: the International Labour
Network of Solidarity and Struggles' virtual thematic meetings, letters of solidarity to
striking miners, and a call to send declarations of solidarity.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from actors import local
from actors.instance import Instance
from actors.models import LocalActor
from content.meeting_input import MeetingInput
from content.models import Post
from outbox import meetings, profile, statements
from unionhall.commands import CommandError, opened
from unionhall.settings import Settings

SUMMARY = """We are rank-and-file rail workers: drivers, guards, station and track staff, cleaners and \
contract workers, organised in a democratic union that our members run themselves.

We take part in the International Labour Network of Solidarity and Struggles. We want to share our \
experiences, learn from each other's struggles and victories, build unity across our national borders, \
and turn international worker solidarity into a reality.

(Demonstration profile: the statements below were written for the Union Hall demo.)"""

# (hashtag, topic per language), in the order of the Network's work plan.
MEETINGS = [
    ("feminism", {"en": "women's rights and feminism", "fr": "droits des femmes et féminisme",
                  "es": "derechos de las mujeres y feminismo"}),
    ("selfmanagement", {"en": "self-management and workers' control", "fr": "autogestion et contrôle ouvrier",
                        "es": "autogestión y control obrero"}),
    ("repression", {"en": "repression against unions and social movements",
                    "fr": "la répression contre les syndicats et les mouvements sociaux",
                    "es": "la represión contra los sindicatos y los movimientos sociales"}),
    ("anticolonialism", {"en": "anti-colonialism", "fr": "anticolonialisme", "es": "anticolonialismo"}),
    ("migrants", {"en": "migrants' rights, migrations", "fr": "droits des migrant·es, migrations",
                  "es": "derechos de las personas migrantes, migraciones"}),
]

TITLE = {"en": "Virtual thematic meeting: {topic}", "fr": "Réunion thématique virtuelle : {topic}",
         "es": "Reunión temática virtual: {topic}"}
DESCRIPTION = {
    "en": ("Virtual thematic meeting of the International Labour Network of Solidarity and Struggles. As with all "
           "union action, this only makes sense if we start from our professional and sectoral situations: bring "
           "the experience of your workplace."),
    "fr": ("Réunion thématique virtuelle du Réseau syndical international de solidarité et de luttes. Comme toute "
           "action syndicale, cela n'a de sens qu'à partir de nos situations professionnelles et sectorielles : "
           "apportez l'expérience de votre lieu de travail."),
    "es": ("Reunión temática virtual de la Red Sindical Internacional de Solidaridad y de Luchas. Como toda acción "
           "sindical, solo tiene sentido si partimos de nuestras situaciones profesionales y sectoriales: trae la "
           "experiencia de tu lugar de trabajo."),
}
INTERNATIONAL = {
    "titles": {"en": "International meeting of the Network", "fr": "Rencontre internationale du Réseau",
               "es": "Encuentro internacional de la Red"},
    "descriptions": {
        "en": ("Four days of plenaries and sector and thematic working groups, in Dijon. Each union registers its "
               "delegates here; the organisers confirm each registration."),
        "fr": ("Quatre jours de plénières et de groupes de travail sectoriels et thématiques, à Dijon. Chaque "
               "syndicat inscrit ici ses délégué·es ; les organisateurs confirment chaque inscription."),
        "es": ("Cuatro días de plenarias y de grupos de trabajo sectoriales y temáticos, en Dijon. Cada sindicato "
               "inscribe aquí a sus delegados y delegadas; la organización confirma cada inscripción."),
    },
}

SOLIDARITY = {
    "en": ("Solidarity with the striking miners of El Cerrejón, Colombia!\n\n"
           "Dear colleagues, we have heard that you are on strike. You are leading a courageous struggle for your "
           "rights, your lives, your dignity and your health. Rail workers stand by your side: your struggle is "
           "ours. #solidarity #miners"),
    "es": ("¡Solidaridad con los mineros en huelga de El Cerrejón, Colombia!\n\n"
           "Queridos compañeros y compañeras, hemos sabido que estáis en huelga. Lleváis adelante una lucha "
           "valiente por vuestros derechos, vuestra vida, vuestra dignidad y vuestra salud. Los trabajadores y "
           "trabajadoras del ferrocarril estamos a vuestro lado: vuestra lucha es la nuestra. #solidarity #miners"),
    "fr": ("Solidarité avec les mineurs en grève d'El Cerrejón, en Colombie !\n\n"
           "Chères et chers collègues, nous avons appris que vous êtes en grève. Vous menez une lutte courageuse "
           "pour vos droits, votre vie, votre dignité et votre santé. Les cheminotes et les cheminots sont à vos "
           "côtés : votre lutte est la nôtre. #solidarity #miners"),
}

APPEAL = {
    "en": ("Albania: the miners are organising for another strike. Send your declarations of solidarity!\n\n"
           "27 miners have died since 2014, 8 of them at the AlbChrome mine. The miners ask unions everywhere "
           "for their solidarity. Reply to this statement with your union's declaration of solidarity: "
           "the declarations are gathered here and forwarded to them. #solidarity #miners"),
    "fr": ("Albanie : les mineurs s'organisent pour une nouvelle grève. Envoyez vos déclarations de solidarité !\n\n"
           "27 mineurs sont morts depuis 2014, dont 8 à la mine AlbChrome. Les mineurs demandent la solidarité "
           "des syndicats du monde entier. Répondez à cette déclaration avec la déclaration de solidarité de "
           "votre syndicat : les déclarations sont rassemblées ici et leur sont transmises. #solidarity #miners"),
    "es": ("Albania: los mineros se organizan para una nueva huelga. ¡Enviad vuestras declaraciones de "
           "solidaridad!\n\n"
           "27 mineros han muerto desde 2014, 8 de ellos en la mina AlbChrome. Los mineros piden la solidaridad "
           "de los sindicatos de todo el mundo. Responded a esta declaración con la declaración de solidaridad "
           "de vuestro sindicato: las declaraciones se reúnen aquí y se les hacen llegar. #solidarity #miners"),
}


def meeting_dates(today: date, count: int) -> list[date]:
    """Saturdays four weeks apart, the first at least two weeks away: always in the future."""
    first = today + timedelta(days=14)
    first += timedelta(days=(5 - first.weekday()) % 7)
    return [first + timedelta(weeks=4 * n) for n in range(count)]


def thematic_meeting(tag: str, topics: dict[str, str], day: date) -> MeetingInput:
    """One of the Network's virtual thematic meetings: two hours online, from 16:00 UTC."""
    begin = datetime(day.year, day.month, day.day, 16, 0, tzinfo=timezone.utc)
    return MeetingInput(titles={lang: TITLE[lang].format(topic=topic) for lang, topic in topics.items()},
                        descriptions=dict(DESCRIPTION), start=begin, end=begin + timedelta(hours=2), timezone="UTC",
                        online_url=f"https://meet.example/ilnss-{tag}", kind="thematic", theme=tag)


def international_meeting(today: date) -> MeetingInput:
    """Four days in Dijon, some months ahead, registration of delegates with the organisers' approval."""
    first = today + timedelta(days=120)
    first += timedelta(days=(3 - first.weekday()) % 7)  # a Thursday to a Sunday
    paris = ZoneInfo("Europe/Paris")
    return MeetingInput(titles=dict(INTERNATIONAL["titles"]), descriptions=dict(INTERNATIONAL["descriptions"]),
                        start=datetime(first.year, first.month, first.day, 9, 0, tzinfo=paris),
                        end=datetime(first.year, first.month, first.day, 17, 0, tzinfo=paris) + timedelta(days=3),
                        timezone="Europe/Paris", place_name="Bourse du travail",
                        address={"streetAddress": "17 rue du Transvaal", "addressLocality": "Dijon",
                                 "addressCountry": "FR"},
                        kind="international", theme="internationalism", capacity=120, join_mode="approval")


def demo_profile(base: str, name: str, *, approve_followers: bool = False) -> profile.ProfileInput:
    # approve_followers carries the union's own choice through: the demo must not unlock an instance.
    return profile.ProfileInput(
        name=name, summary=SUMMARY, sector="Railways", country="FR", approve_followers=approve_followers,
        links=[("Website", "https://rail-union.example/"),
               ("Network", "https://www.laboursolidarity.org/"),
               ("Thematic meetings", f"{base}/tags/meeting")])


class DemoRefused(Exception):
    pass


async def fill(inst: Instance, union: LocalActor) -> list[Post]:
    """The demo profile, the meetings, then the statements (the appeal ends up on top)."""
    if await Post.filter(local=True).exists():
        # Never mixes demo statements into a real union's: a fresh instance only.
        raise DemoRefused("this instance already has statements: the demo only fills a fresh instance "
                          "(start one with another data directory)")
    try:
        checked = profile.check(inst, demo_profile(inst.urls.base, union.name,
                                                   approve_followers=union.manually_approves_followers))
    except profile.ProfileError as exc:
        raise DemoRefused(str(exc)) from exc
    await profile.update_profile(inst, union, checked)
    now = inst.now()
    published = []
    for (tag, topics), day in zip(MEETINGS, meeting_dates(now.date(), len(MEETINGS))):
        published.append((await meetings.create_meeting(inst, union, thematic_meeting(tag, topics, day))).post)
    published.append((await meetings.create_meeting(inst, union, international_meeting(now.date()))).post)
    published.append(await statements.publish(inst, union, SOLIDARITY))
    published.append(await statements.publish(inst, union, APPEAL, appeal=True, appeal_until=now + timedelta(days=30)))
    return published


async def run(settings: Settings) -> int:
    async with opened(settings) as inst:
        union = await local.get_union()
        if union is None:
            raise CommandError("this instance has no union actor: run `unionhall init`")
        try:
            published = await fill(inst, union)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
    print(f"Demo profile, {len(published)} meetings and statements published for "
          f"@{union.username}@{inst.urls.host}:")
    for post in reversed(published):
        print(f"  {post.ap_id}")
    return 0
