def test_login_and_home_in_chinese(client, tree):
    client.login(tree.district_admin)
    r = client.get("/")
    assert r.status_code == 200
    assert "区管理员" in r.text
    assert "组织架构" in r.text  # the nav speaks Chinese by default
