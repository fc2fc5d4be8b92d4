# language: fr
@fr
Fonctionnalité: Persistance des articles (scénarios d'origine)
  Les phrases d'origine du projet, en français, pilotent le même serveur et les mêmes
  vérifications que leurs équivalents anglais.

  Scénario: les articles créés rapidement sont tous écrits dans le journal
    Soit la persistence est activée par défaut
    Et un serveur Lithair sur le port 8080 avec persistence "data/test_rapide"
    Quand je crée 100 articles rapidement
    Alors le fichier events.raftlog doit exister
    Et le fichier events.raftlog doit contenir exactement 100 événements
    Et le journal contient les articles tels qu'envoyés

  Scénario: les articles créés en parallèle sont tous écrits dans le journal
    Soit un serveur Lithair sur le port 8081 avec persistence "data/test_parallele"
    Quand je crée 1000 articles en parallèle avec 10 threads
    Alors le fichier events.raftlog doit exister
    Et le fichier events.raftlog doit contenir exactement 1000 événements
    Et le journal contient les articles tels qu'envoyés
