"""The kernel shared by the api, the gateway, the Rasa components and the actions: standard library only."""
