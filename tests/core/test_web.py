"""Error pages, security headers, language switching, translations."""
import pytest


def test_404_is_friendly_chinese(client, tree):
    client.login(tree.member)
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "页面不存在" in r.text and "返回首页" in r.text


def test_500_hides_the_stack_trace(app, client, tree):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client.login(tree.member)
    r = client.get("/boom")
    assert r.status_code == 500
    assert "出错了" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_api_errors_are_json(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code in (401, 404)
    assert r.get_json()["code"] in ("unauthorized", "not_found")


def test_security_headers(client):
    r = client.get("/auth/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "cdn" not in r.text.lower()
    assert r.headers["X-Frame-Options"] == "DENY"


def test_every_asset_is_local(client, tree):
    import re

    client.login(tree.district_admin)
    page = client.get("/orgs/").text
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/") and not url.startswith("//"), url
    for asset in re.findall(r'(?:src|href)="(/(?:static|bootstrap)/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_language_switch_to_english(client, tree):
    client.login(tree.district_admin)
    assert "组织架构" in client.get("/").text
    r = client.post("/lang/en", data={"next": "/orgs/"})
    assert r.status_code == 302 and r.location == "/orgs/"
    assert "Organisations" in client.get("/").text


def test_language_switch_refuses_open_redirect(client):
    r = client.post("/lang/en", data={"next": "//evil.example"})
    assert r.location == "/"


def test_every_string_has_a_chinese_translation():
    from timebank.i18n import untranslated

    assert untranslated() == []


def test_compiled_catalogues_match_sources():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    from timebank.i18n import catalogue_dirs

    for tdir in catalogue_dirs():
        for po in tdir.glob("*/LC_MESSAGES/messages.po"):
            mo = po.with_suffix(".mo")
            assert mo.exists(), f"{mo} missing: run python -m timebank.i18n compile"
            with po.open("rb") as f1, mo.open("rb") as f2:
                source, compiled = read_po(f1), read_mo(f2)
            want = {m.id: m.string for m in source if m.id and m.string and not m.fuzzy}
            got = {m.id: m.string for m in compiled if m.id}
            assert want == got, f"{mo} is stale: run python -m timebank.i18n compile"


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/app.js"])
def test_static_assets_served(client, path):
    assert client.get(path).status_code == 200


def test_no_message_id_is_translated_two_ways():
    # The catalogues are merged at run time, so a second translation of an id is silently
    # dropped or silently wins (the relay page called its recipient 「结束」).
    from timebank.i18n import conflicts
    assert conflicts() == []
