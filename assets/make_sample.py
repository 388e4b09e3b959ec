"""Regenerate the Portuguese sample corpus shipped in assets/sample/.

Not a workflow step: the sample is committed, and this script, kept beside it,
documents how it was made and rebuilds it byte for byte
(`python assets/make_sample.py`; a test checks the result against the asset's MD5). It fills hand-written news,
business and legal-style sentence templates with invented people, companies and
products, and real places and institutions, recording each entity's character
offsets. A handful of deliberately broken records (a duplicate, empty texts, a
span that cuts a word, overlapping spans, a span with a trailing space) are
appended so the `preprocess` step has real problems to report.

Writes: assets/sample/ner_pt.jsonl (one JSON object a line:
{"id": str, "text": str, "entities": [[start, end, label], ...]}).
With --new-text, unannotated text from the same templates ({"id": str, "text": str}):
`python assets/make_sample.py assets/new_text/ner_pt_new.jsonl --new-text --seed 2025 --n-records 300`
writes the new text that monitor and review read by default.
"""

import random
import re
from pathlib import Path
from typing import Dict, List, Tuple

import srsly
import typer

PEOPLE_FEMALE = [
    "Ana", "Beatriz", "Carla", "Daniela", "Eduarda", "Fernanda", "Gabriela", "Helena",
    "Isabel", "Joana", "Larissa", "Mariana", "Natália", "Patrícia", "Raquel", "Sofia",
    "Teresa", "Vitória", "Luísa", "Marta", "Adriana", "Bianca", "Cecília", "Débora",
    "Elisa", "Flávia", "Glória", "Inês", "Júlia", "Lourdes", "Mafalda", "Renata",
    "Simone", "Yara", "Rosa", "Clara",
]
PEOPLE_MALE = [
    "André", "Bruno", "Carlos", "Diogo", "Eduardo", "Felipe", "Gustavo", "Henrique",
    "Igor", "João", "Leonardo", "Marcelo", "Nuno", "Otávio", "Paulo", "Rafael",
    "Sérgio", "Tiago", "Vinícius", "Rodrigo", "Luís", "Miguel", "Álvaro", "Caio",
    "Duarte", "Fábio", "Gonçalo", "Hugo", "Jorge", "Mauro", "Renato", "Samuel",
    "Valter", "Wagner", "Francisco", "Antônio",
]
PEOPLE_LAST = [
    "Almeida", "Barbosa", "Cardoso", "Carvalho", "Costa", "Dias", "Ferreira", "Fonseca",
    "Gomes", "Lima", "Lopes", "Martins", "Mendes", "Moreira", "Nogueira", "Oliveira",
    "Pereira", "Pinto", "Queiroz", "Ramos", "Ribeiro", "Rocha", "Santos", "Silva",
    "Sousa", "Teixeira", "Vasconcelos", "Vieira", "Azevedo", "Brandão", "Correia",
    "Figueiredo", "Macedo", "Monteiro", "Peixoto", "Rezende", "Tavares", "Xavier",
    "Araújo", "Bastos", "Campos", "Coelho", "Duarte", "Esteves", "Faria", "Guimarães",
    "Leal", "Magalhães", "Medeiros", "Neves", "Paiva", "Quintela", "Sampaio", "Salgado",
    "Siqueira", "Toledo", "Valente", "Assunção", "Cavalcanti", "Bezerra", "Marinho",
]
# Company names are composed from a kind and a name, so most test companies are new.
COMPANY_KINDS_F = ["Construtora", "Companhia", "Cooperativa", "Distribuidora", "Editora",
                   "Seguradora", "Transportadora", "Mineradora", "Metalúrgica", "Imobiliária",
                   "Farmacêutica", "Cervejaria", "Rede", "Têxtil", "Agropecuária"]
COMPANY_KINDS_M = ["Banco", "Grupo", "Laboratório", "Consórcio", "Instituto", "Estaleiro",
                   "Supermercado", "Hospital", "Colégio", "Frigorífico"]
COMPANY_NAMES = ["Atlântida", "Aurora", "Horizonte", "Serra Azul", "Boa Vista", "Estrela do Sul",
                 "Rio Claro", "Pedra Branca", "Nova Era", "Três Rios", "Cristal", "Primavera",
                 "Ipê", "Jacarandá", "Tamoio", "Guarani", "Atalaia", "Ribeira", "Mondego",
                 "Douro", "Vale Verde", "Sol Nascente", "Lua Cheia", "Maré Alta", "Bom Jesus",
                 "Santa Luzia", "São Bento", "Itapuã", "Araucária", "Cajueiro", "Alvorada",
                 "Bandeirantes", "Farol", "Porto Novo", "Monte Sião", "Flor de Lis"]
# Entity pools by label and grammatical gender, so that articles agree ("a Construtora
# Atlântida", "o Banco Horizonte"). Slot names end in F or M for the gender.
POOLS: Dict[str, List[str]] = {
    "ORGF": [
        "Construtora Atlântida", "Lusitana Energia", "Companhia Têxtil Aurora",
        "Rede Farol de Saúde", "Editora Pé de Página", "Seguradora Âncora",
        "Mineração Pedra Alta", "TecnoSul Sistemas", "Farmacêutica Bom Remédio",
        "Cooperativa Agrícola Novo Rumo", "Logística Rota Norte", "Imobiliária Porto Seguro",
        "Transportadora Serrana", "Cervejaria Lua Cheia", "Metalúrgica Ferro Forte",
        "Companhia Aérea Cruzeiro", "Distribuidora Sol Nascente",
    ] + [f"{kind} {name}" for kind in COMPANY_KINDS_F for name in COMPANY_NAMES],
    "ORGM": [
        "Banco Horizonte", "Grupo Vale Verde", "Estaleiro do Tejo", "Laboratório Vida Nova",
        "Banco Mercantil do Sul", "Grupo Maré Alta", "Consórcio Via Litoral",
        "Instituto Semear", "Supermercado Boa Safra",
    ] + [f"{kind} {name}" for kind in COMPANY_KINDS_M for name in COMPANY_NAMES],
    "INSTF": [
        "Câmara dos Deputados", "Assembleia da República", "Universidade de São Paulo",
        "Universidade de Coimbra", "Polícia Federal", "Comissão Europeia",
        "Organização Mundial da Saúde", "Receita Federal", "Procuradoria-Geral da República",
        "Advocacia-Geral da União", "Agência Nacional de Águas", "Defensoria Pública",
    ],
    "INSTM": [
        "Supremo Tribunal Federal", "Superior Tribunal de Justiça", "Banco Central do Brasil",
        "Ministério Público Federal", "Senado Federal", "Tribunal de Contas da União",
        "Banco de Portugal", "Tribunal Regional do Trabalho", "Ministério da Economia",
        "Instituto Nacional de Estatística", "Conselho Nacional de Justiça",
        "Tribunal Constitucional", "Ministério da Saúde",
    ],
    "CLUB": [
        "Esporte Clube Vitória", "Clube Atlético Mineiro", "Sport Club Internacional",
        "Futebol Clube do Porto", "Sporting Clube de Portugal", "Grêmio Recreativo Serrano",
        "Botafogo", "Vitória de Guimarães",
    ],
    "LOC": [
        "São Paulo", "Belo Horizonte", "Porto Alegre", "Curitiba", "Salvador",
        "Recife", "Fortaleza", "Manaus", "Belém", "Brasília", "Florianópolis", "Goiânia",
        "Campinas", "Lisboa", "Coimbra", "Braga", "Faro", "Luanda", "Maputo",
        "Madrid", "Paris", "Buenos Aires", "Santiago", "Nova Iorque", "Londres",
        "Minas Gerais", "Pernambuco", "Santa Catarina", "Portugal", "Angola",
        "Moçambique", "Cabo Verde", "Setúbal", "Aveiro", "Évora", "Cuiabá",
        "Natal", "João Pessoa", "Maceió", "Aracaju", "Teresina", "São Luís", "Vitória",
        "Campo Grande", "Porto Velho", "Boa Vista", "Macapá", "Palmas", "Londrina",
        "Joinville", "Ribeirão Preto", "Sorocaba", "Uberlândia", "Juiz de Fora", "Santos",
        "Petrópolis", "Viseu", "Leiria", "Guimarães", "Funchal", "Ponta Delgada",
        "Benguela", "Huambo", "Beira", "Nampula", "Díli", "Bissau", "Montevidéu", "Lima",
        "Bogotá", "Roma", "Berlim", "Bruxelas", "Genebra", "Tóquio", "Pequim", "Joanesburgo",
    ],
    # Countries and regions that take an article: "no Brasil", "na Bahia".
    "LOCM": ["Brasil", "Japão", "Chile", "Algarve", "Alentejo", "Rio de Janeiro", "Porto",
             "Paraná", "Vale do Paraíba"],
    "LOCF": ["Bahia", "Argentina", "Espanha", "Alemanha", "China", "França", "Amazónia",
             "Serra da Estrela"],
    "LAWF": ["Lei de Responsabilidade Fiscal", "Lei Geral de Proteção de Dados",
             "Reforma Tributária", "Lei do Inquilinato", "Lei da Ficha Limpa",
             "Constituição Federal"],
    "LAWM": ["Código Civil", "Código de Defesa do Consumidor", "Código Penal",
             "Estatuto da Criança e do Adolescente", "Código do Trabalho", "Marco Civil da Internet"],
    "EVENTF": ["Copa do Mundo", "Liga dos Campeões", "Taça de Portugal", "Copa Libertadores",
               "Bienal do Livro", "Feira do Livro de Lisboa", "Cúpula do Clima"],
    "EVENTM": ["Festival de Cinema de Gramado", "Carnaval", "Rock in Rio", "Web Summit",
               "Fórum Económico de Davos", "Campeonato Brasileiro", "São João"],
    "PRIZE": ["Prémio Camões", "Prêmio Jabuti", "Prémio Saramago", "Prêmio Esso"],
    # Institutions with their acronyms, for "Supremo Tribunal Federal (STF)".
    "ACRO": ["Supremo Tribunal Federal (STF)", "Superior Tribunal de Justiça (STJ)",
             "Banco Central Europeu (BCE)", "Organização Mundial da Saúde (OMS)",
             "Instituto Brasileiro de Geografia e Estatística (IBGE)",
             "Tribunal Superior Eleitoral (TSE)", "Fundo Monetário Internacional (FMI)",
             "Agência Nacional de Vigilância Sanitária (Anvisa)"],
    "PROD": ["Aurora X5", "Nimbus Pro", "Sabiá 2", "Tucano 300", "Farol Home", "Conta Maré",
             "Vento Leve", "Pix Fácil"],
    "MONTH": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
              "setembro", "outubro", "novembro", "dezembro"],
}
SLOT_LABELS = {
    "PER": "PER", "PERF": "PER", "PERM": "PER",
    "ORGF": "ORG", "ORGM": "ORG", "INSTF": "ORG", "INSTM": "ORG", "CLUB": "ORG",
    "LOC": "LOC", "LOCF": "LOC", "LOCM": "LOC",
    "LAWF": "MISC", "LAWM": "MISC", "EVENTF": "MISC", "EVENTM": "MISC", "PRIZE": "MISC",
    "PROD": "MISC", "LAST": "PER",
}
# Slots named in SLOT_LABELS are entities; {NUM} {PCT} {MONEY} {DATE} {YEAR} {MONTH}
# {SCORE} are plain text.
TEMPLATES = [
    # Politics and public administration
    "O ministro {PERM} anunciou em {LOC} um novo pacote de investimentos em infraestrutura.",
    "A deputada {PERF} criticou a proposta durante a sessão da {INSTF} nesta terça-feira.",
    "Segundo o {INSTM}, a inflação acumulada em doze meses chegou a {PCT}.",
    "O governador de {LOC}, {PERM}, reuniu-se com representantes da {ORGF} para discutir a crise hídrica.",
    "A {INSTF} aprovou por ampla maioria o texto-base da {LAWF}.",
    "{PERF} tomou posse como presidente da {INSTF} em cerimónia realizada em {LOC}.",
    "O prefeito {PERM} visitou as obras do novo hospital de {LOC} na manhã de {DATE}.",
    "A comitiva do {LOCM} chegou a {LOC} para negociar um acordo comercial.",
    "Em entrevista à imprensa, {PER} afirmou que o {INSTM} vai rever as metas fiscais.",
    "O relatório do {INSTM} aponta que {LOC} concentrou {PCT} dos novos empregos formais.",
    "A secretária {PERF} apresentou o orçamento de {YEAR} aos vereadores de {LOC}.",
    "Manifestantes ocuparam a praça central de {LOC} contra as mudanças no {LAWM}.",
    "O presidente da {INSTF}, {PERM}, disse que a votação fica para depois do recesso.",
    "A visita oficial do primeiro-ministro à {LOCF} foi adiada para {MONTH}.",
    # Business and economy
    "A {ORGF} registou lucro líquido de {MONEY} no terceiro trimestre.",
    "O conselho do {ORGM} aprovou a compra da {ORGF} por {MONEY}.",
    "A {ORGF} vai abrir uma fábrica em {LOC} e prevê contratar {NUM} funcionários.",
    "{PERF}, diretora financeira da {ORGF}, disse que a empresa não pretende demitir.",
    "As ações do {ORGM} subiram {PCT} após o anúncio da fusão com a {ORGF}.",
    "A {ORGF} lançou nesta semana o {PROD}, disponível primeiro no {LOCM}.",
    "O diretor-executivo do {ORGM}, {PERM}, deixará o cargo em {MONTH}.",
    "A {ORGF} assinou contrato com o governo de {LOC} para a construção de uma ponte.",
    "Analistas do {ORGM} esperam que o {INSTM} mantenha a taxa de juros em {PCT}.",
    "A exportação de café do {LOCM} para a {LOCF} cresceu {PCT} em {YEAR}.",
    "O fundador do {ORGM}, {PERM}, vendeu a sua participação por {MONEY}.",
    "Clientes do {ORGM} relataram falhas no aplicativo {PROD} durante todo o fim de semana.",
    "A {ORGF} transferiu a sua sede de {LOC} para {LOC} no início do ano.",
    "A greve dos trabalhadores da {ORGF} em {LOC} já dura {NUM} dias.",
    "O economista {PERM} prevê crescimento de {PCT} para a economia da {LOCF}.",
    "Com o {PROD}, a {ORGF} pretende disputar o mercado do {LOCM} com concorrentes asiáticos.",
    "A economista {PERF}, do {ORGM}, estima que o desemprego em {LOC} caia para {PCT}.",
    "O {ORGM} e a {ORGF} anunciaram uma parceria para distribuir energia solar na {LOCF}.",
    # Legal
    "O {INSTM} negou o pedido de habeas corpus apresentado pela defesa de {PER}.",
    "Segundo a denúncia do {INSTM}, {PER} teria desviado {MONEY} de contratos públicos.",
    "O juiz {PERM} condenou a {ORGF} a pagar indemnização por violar o {LAWM}.",
    "A ministra {PERF}, relatora do processo no {INSTM}, votou pela constitucionalidade da norma.",
    "A {ORGF} recorreu ao {INSTM} contra a multa aplicada com base na {LAWF}.",
    "O advogado {PERM} informou que o seu cliente vai colaborar com a {INSTF}.",
    "O acórdão do {INSTM} cita expressamente o artigo 5.º do {LAWM}.",
    "A audiência de conciliação entre {PER} e a {ORGF} ficou marcada para {DATE}.",
    "A {INSTF} abriu inquérito para investigar contratos do {ORGM} em {LOC}.",
    "Por unanimidade, o {INSTM} manteve a condenação de {PER} por fraude fiscal.",
    "O processo foi remetido ao {INSTM}, com sede em {LOC}, em {DATE}.",
    "A desembargadora {PERF} suspendeu a liminar que beneficiava o {ORGM}.",
    "Nos termos da {LAWF}, a {ORGF} deverá notificar os clientes afetados no prazo de {NUM} dias.",
    "A defesa de {PERM} alega que a prova obtida pela {INSTF} é nula.",
    # Sport
    "O {CLUB} venceu por {SCORE} e garantiu vaga na {EVENTF}.",
    "O avançado {PERM} marcou dois golos na vitória do {CLUB} em {LOC}.",
    "O técnico {PERM} foi demitido pelo {CLUB} após a derrota no clássico.",
    "A seleção da {LOCF} estreia na {EVENTF} contra a seleção do {LOCM}.",
    "A atleta {PERF} conquistou a medalha de ouro na {EVENTF}.",
    "O {CLUB} anunciou a contratação do médio {PERM}, que estava no {CLUB}.",
    "A tenista {PERF} avançou às meias-finais do torneio de {LOC}.",
    # Culture, science and society
    "A escritora {PERF} recebeu o {PRIZE} pelo conjunto da sua obra.",
    "O filme de {PER} foi premiado no {EVENTM} e estreia em {LOC} no próximo mês.",
    "Pesquisadores da {INSTF} identificaram uma nova espécie de sapo na {LOCF}.",
    "A exposição sobre a história de {LOC} fica aberta ao público até {DATE}.",
    "O cantor {PERM} fará um concerto gratuito em {LOC} durante o {EVENTM}.",
    "A {INSTF} alertou para o aumento de casos de dengue em {LOC}.",
    "Mais de {NUM} mil pessoas visitaram a {EVENTF} no primeiro fim de semana.",
    "A professora {PERF}, da {INSTF}, coordena o estudo sobre a qualidade da água em {LOC}.",
    "O voo da {ORGF} entre {LOC} e {LOC} foi cancelado por causa do mau tempo.",
    "Fortes chuvas deixaram {NUM} famílias desalojadas em {LOC} nesta madrugada.",
    "O {ORGM} doou {MONEY} para a reconstrução das escolas atingidas pelas cheias em {LOC}.",
    "O engenheiro {PERM} explicou que a barragem no {LOCM} está sob vigilância constante.",
    "Os bombeiros de {LOC} controlaram o incêndio que atingiu um armazém da {ORGF}.",
    "O navio partiu de {LOC} com destino a {LOC} carregado de soja.",
    "{PER} e {PER} foram eleitos para a direção do {ORGM} em assembleia geral.",
    "A agência de notícias confirmou que {PER} esteve em {LOC} na semana passada.",
    "O romance de {PERF} foi finalista do {PRIZE} e será traduzido na {LOCF}.",
    # Sentences without entities keep the model honest about the O class.
    "A reunião terminou sem acordo e deve ser retomada na próxima semana.",
    "Os preços dos combustíveis voltaram a subir pela terceira semana consecutiva.",
    "O número de desempregados caiu pelo quarto mês seguido, segundo dados oficiais.",
    "A previsão do tempo indica chuva forte e ventos de até {NUM} quilómetros por hora.",
    "As aulas presenciais serão retomadas depois do feriado prolongado.",
    "O consumo das famílias recuou {PCT} em relação ao mesmo período do ano anterior.",
    "Segundo o governo federal, a medida entra em vigor na segunda-feira.",
    "O presidente da empresa não quis comentar a decisão do tribunal.",
    # Surname-only mentions and acronyms.
    "Questionado pelos jornalistas, {LAST} evitou comentar a investigação.",
    "Para {LAST}, a decisão da {INSTF} abre um precedente perigoso.",
    "O relatório do {ACRO} foi divulgado nesta quinta-feira em {LOC}.",
    "A ministra {LAST} pediu vista do processo no {ACRO}.",
    "Dados do {ACRO} mostram que a renda média em {LOC} subiu {PCT}.",
    "O senador {LAST} apresentou um recurso contra a decisão do {ACRO}.",
    "A {ORGF} e o {ORGM} foram multados pela {INSTF} em {MONEY}.",
    "Em {LOC}, {PER} inaugurou a nova sede da {ORGF} diante de {NUM} convidados.",
    "A fusão entre o {ORGM} e o {ORGM} ainda depende de aprovação do {INSTM}.",
]


def _fill(template: str, rng: random.Random) -> Tuple[str, List[List]]:
    """Fill one template, returning the text and its entity offsets."""
    text = ""
    entities: List[List] = []
    pos = 0
    for match in re.finditer(r"\{([A-Z]+)\}", template):
        text += template[pos : match.start()]
        slot = match.group(1)
        value = _slot_value(slot, rng)
        if slot == "ACRO":  # "Name (ACRONYM)": two ORG entities
            name, acronym = value[:-1].split(" (")
            entities.append([len(text), len(text) + len(name), "ORG"])
            entities.append([len(text) + len(name) + 2, len(text) + len(value) - 1, "ORG"])
        elif slot in SLOT_LABELS:
            entities.append([len(text), len(text) + len(value), SLOT_LABELS[slot]])
        text += value
        pos = match.end()
    text += template[pos:]
    return text, entities


def _slot_value(slot: str, rng: random.Random) -> str:
    if slot in ("PER", "PERF", "PERM"):
        given = {"PERF": PEOPLE_FEMALE, "PERM": PEOPLE_MALE}.get(slot, PEOPLE_FEMALE + PEOPLE_MALE)
        names = [rng.choice(given), rng.choice(PEOPLE_LAST)]
        if rng.random() < 0.35:
            names.insert(1, rng.choice(PEOPLE_LAST))
        return " ".join(names)
    if slot == "LAST":
        return rng.choice(PEOPLE_LAST)
    if slot in POOLS:
        return rng.choice(POOLS[slot])
    if slot == "NUM":
        return str(rng.choice([12, 35, 40, 120, 250, 300, 1200, 4500]))
    if slot == "PCT":
        return f"{rng.randint(1, 19)},{rng.randint(0, 9)}%"
    if slot == "MONEY":
        unit = rng.choice(["milhões", "mil milhões", "bilhões"])
        currency = rng.choice(["R$", "€", "US$"])
        return f"{currency} {rng.randint(2, 950)} {unit}"
    if slot == "DATE":
        return f"{rng.randint(1, 28)} de {rng.choice(POOLS['MONTH'])}"
    if slot == "YEAR":
        return str(rng.randint(2015, 2026))
    if slot == "SCORE":
        return f"{rng.randint(1, 4)} a {rng.randint(0, 1)}"
    raise ValueError(f"unknown template slot {{{slot}}}")


def _broken_records(good: List[Dict]) -> List[Dict]:
    """Records with the problems real annotation exports have."""
    cut = "A Lusitana Energia investiu no Alentejo."
    return [
        dict(good[3], id="dup-1"),  # exact duplicate text and entities
        {"id": "empty-1", "text": "", "entities": []},
        {"id": "blank-1", "text": "   ", "entities": []},
        # Span ends inside the word "Energia": does not align with tokens.
        {"id": "misaligned-1", "text": cut, "entities": [[2, 17, "ORG"], [31, 39, "LOC"]]},
        # Two spans over "Banco Central": overlapping annotations.
        {
            "id": "overlap-1",
            "text": "O Banco Central do Brasil reduziu a taxa básica de juros.",
            "entities": [[2, 25, "ORG"], [2, 15, "ORG"]],
        },
        # Trailing space inside the span: fixable by trimming.
        {
            "id": "trailing-space-1",
            "text": "A ministra Helena Tavares chegou a Brasília ontem.",
            "entities": [[11, 26, "PER"], [35, 43, "LOC"]],
        },
    ]


def main(
    output: Path = typer.Argument(Path("assets/sample/ner_pt.jsonl")),
    n_records: int = typer.Option(760, help="Template sentences to generate"),
    seed: int = typer.Option(2024, help="Random seed"),
    new_text: bool = typer.Option(False, "--new-text", help="Write unannotated new text (ids 'new-NNNN', no broken records)"),
) -> None:
    rng = random.Random(seed)
    records: List[Dict] = []
    seen = set()
    while len(records) < n_records:
        text, entities = _fill(rng.choice(TEMPLATES), rng)
        if text in seen:
            continue
        seen.add(text)
        if new_text:
            records.append({"id": f"new-{len(records) + 1:04d}", "text": text})
        else:
            records.append({"id": f"pt-{len(records) + 1:04d}", "text": text, "entities": entities})
    if not new_text:
        broken = _broken_records(records)
        # Spread the broken records through the file, as they would be in a real export.
        for offset, record in enumerate(broken):
            records.insert(97 * (offset + 1), record)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_jsonl(output, records)
    n_tokens = sum(len(r["text"].split()) for r in records)
    print(f"Wrote {len(records)} records (~{n_tokens} whitespace tokens) to {output}")


if __name__ == "__main__":
    typer.run(main)
