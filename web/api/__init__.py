"""The Mastodon client API and OAuth 2, so union staff can use Elk, Phanpy, Tusky or any
Mastodon app (and Mastodon.py scripts) against their own instance. Entities are shaped by
`entities`; every change goes through outbox/ like the admin pages' do."""
