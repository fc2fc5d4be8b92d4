# language: fr
@fr @cluster @serial
Fonctionnalité: Une grappe élit un chef et ne perd aucune écriture acquittée
  Les mêmes promesses que features/cluster/, dites en français : les phrases françaises
  pilotent les mêmes nœuds et les mêmes vérifications que leurs équivalents anglais.

  Scénario: trois nœuds élisent un seul chef
    Soit une grappe Lithair de 3 nœuds
    Alors un seul nœud dirige et les autres le suivent

  Scénario: les écritures envoyées à un nœud arrivent sur tous les nœuds
    Soit une grappe Lithair de 3 nœuds
    Quand 30 articles sont créés par le nœud 2
    Alors chaque écriture acquittée est présente sur chaque nœud
    Et les journaux des nœuds concordent jusqu'à l'index validé

  Scénario: la mort du chef ne perd aucune écriture acquittée
    Soit une grappe Lithair de 3 nœuds
    Quand 20 articles sont créés par le nœud 1
    Et le chef est tué
    Alors un nouveau chef acquitte une écriture en moins de 3000 ms
    Quand le nœud tué redémarre
    Alors chaque écriture acquittée est présente sur chaque nœud

  Scénario: un chef coupé du reste de la grappe n'acquitte plus rien
    Soit une grappe Lithair de 3 nœuds
    Quand 10 articles sont créés par le nœud 1
    Et le chef est coupé des autres nœuds
    Alors le nœud coupé n'acquitte aucune écriture et refuse les lectures cohérentes
    Quand le réseau est rétabli
    Alors chaque écriture acquittée est présente sur chaque nœud
