"""Generate a large, seeded, realistic ticket CSV with the columns of ``examples/tickets.csv``.

    python benchmarks/generate_tickets.py --rows 1000000 --seed 1 -o benchmarks/work/tickets_1m.csv

Deterministic for a given ``--rows`` and ``--seed``. About 50k customers per million rows (a few of them busy,
most quiet), about 40 categories, subjects from a few thousand templates with variation, Chinese and English
text, about 85% closed, timestamps spread over two years ending 2026-11-22.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from butterfly.importers.export import COLUMNS  # the generic CSV format butterfly itself writes and reads

END = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SPAN_SECONDS = 730 * 86400

# 40 categories, each with Chinese and English objects and problems (templates = objects x problems x language)
CATEGORIES = {
    "billing": (["发票", "账单", "退款", "对账单", "付款"], ["invoice", "bill", "refund", "statement", "payment"]),
    "login": (["登录", "短信验证码", "单点登录", "账号"], ["login", "SMS code", "single sign-on", "account"]),
    "password": (["重置密码", "密码策略"], ["password reset", "password policy"]),
    "sync": (["库存同步", "订单同步", "数据同步"], ["stock sync", "order sync", "data sync"]),
    "printing": (["小票打印", "标签打印", "打印模板"], ["receipt printing", "label printing", "print template"]),
    "reporting": (["销售报表", "月度报表", "导出报表"], ["sales report", "monthly report", "report export"]),
    "integration": (["订单接口", "回调通知", "ERP 对接"], ["order API", "webhook", "ERP connector"]),
    "mobile-app": (["安卓客户端", "苹果客户端", "小程序"], ["Android app", "iOS app", "mini program"]),
    "performance": (["后台页面", "搜索", "结账页面"], ["admin pages", "search", "checkout page"]),
    "permissions": (["角色权限", "门店权限"], ["role permissions", "store permissions"]),
    "notifications": (["邮件通知", "短信通知", "推送"], ["email notifications", "SMS notifications", "push"]),
    "data-import": (["商品导入", "会员导入"], ["product import", "member import"]),
    "pricing": (["价格表", "促销活动", "优惠券"], ["price list", "promotion", "coupon"]),
    "shipping": (["物流单号", "运费模板"], ["tracking number", "shipping rates"]),
    "inventory": (["盘点", "调拨单"], ["stock count", "transfer order"]),
    "pos": (["收银机", "扫码枪", "钱箱"], ["POS terminal", "barcode scanner", "cash drawer"]),
    "payments": (["微信支付", "支付宝", "银行卡支付"], ["WeChat Pay", "Alipay", "card payments"]),
    "membership": (["会员积分", "会员等级"], ["loyalty points", "member tiers"]),
    "contract": (["合同续签", "服务协议"], ["contract renewal", "service agreement"]),
    "onboarding": (["新门店开通", "培训"], ["new store setup", "training"]),
    "hardware": (["平板", "打印机", "网络设备"], ["tablet", "printer", "network device"]),
    "network": (["门店网络", "VPN"], ["store network", "VPN"]),
    "security": (["异常登录", "数据泄露风险"], ["suspicious login", "data exposure"]),
    "compliance": (["电子发票合规", "数据留存"], ["e-invoice compliance", "data retention"]),
    "localization": (["繁体显示", "时区"], ["translations", "time zone"]),
    "accessibility": (["字体大小", "读屏"], ["font size", "screen reader"]),
    "api-limits": (["接口限流", "调用配额"], ["rate limit", "API quota"]),
    "backup": (["数据备份", "恢复"], ["backup", "restore"]),
    "migration": (["旧系统迁移", "数据迁移"], ["legacy migration", "data migration"]),
    "upgrade": (["版本升级", "自动更新"], ["version upgrade", "auto update"]),
    "scheduling": (["排班", "预约"], ["shift scheduling", "bookings"]),
    "crm": (["客户档案", "跟进记录"], ["customer records", "follow-up notes"]),
    "marketing": (["短信营销", "活动页面"], ["SMS campaigns", "landing pages"]),
    "analytics": (["数据看板", "转化率"], ["dashboard", "conversion rate"]),
    "returns": (["退货", "换货"], ["returns", "exchanges"]),
    "delivery": (["配送时效", "骑手"], ["delivery time", "courier"]),
    "tax": (["税率", "报税"], ["tax rates", "tax filing"]),
    "feature-request": (["批量修改", "自定义字段"], ["bulk editing", "custom fields"]),
    "account-closure": (["注销账号", "停用门店"], ["account closure", "store deactivation"]),
    "other": (["其他问题", "咨询"], ["other", "question"]),
}
PROBLEMS_ZH = [
    "失败",
    "报错",
    "很慢",
    "打不开",
    "数据不对",
    "重复了",
    "丢失",
    "延迟",
    "显示乱了",
    "提示超时",
    "无法保存",
    "金额错误",
    "没有反应",
    "一直转圈",
    "提示无权限",
    "结果为空",
    "被锁定",
    "收不到",
    "格式错误",
    "和上周不一致",
]
PROBLEMS_EN = [
    "fails",
    "shows an error",
    "is very slow",
    "does not open",
    "shows wrong data",
    "creates duplicates",
    "lost data",
    "is delayed",
    "layout is broken",
    "times out",
    "cannot be saved",
    "has the wrong amount",
    "does nothing",
    "keeps spinning",
    "says access denied",
    "returns nothing",
    "is locked",
    "never arrives",
    "has a format error",
    "differs from last week",
]
CONTEXT_ZH = ["", "", "", "(紧急)", "(第二次反馈)", "-门店 {n}", "，订单号 {n}", "，影响收银", "，老板很着急"]
CONTEXT_EN = ["", "", "", " (urgent)", " (second report)", " - store {n}", ", order #{n}", ", blocking checkout"]
DETAIL_ZH = [
    "从今天早上开始出现，已经重启过设备。",
    "影响所有门店，顾客在排队。",
    "昨天升级之后就这样了。",
    "财务月底要用，请尽快处理。",
    "试了三台电脑都一样。",
    "之前也出现过一次，当时说修好了。",
    "截图已上传，请查看附件。",
]
DETAIL_EN = [
    "Started this morning; we already restarted the devices.",
    "All stores are affected and customers are queuing.",
    "It started right after yesterday's update.",
    "Finance needs this for month-end close, please hurry.",
    "Same result on three different computers.",
    "This happened once before and we were told it was fixed.",
    "Screenshots attached.",
]
CHANNELS = ["email", "phone", "chat", "wechat", "web", "api"]
GROUPS = ["L1 Support", "L2 Platform", "Billing", "Hardware", "Product", "一线支持", "二线技术"]
TAGS = ["urgent", "vip", "recurring", "regression", "needs-info", "escalated", "workaround", "known-issue"]
CN_PREFIX = "华星青禾明达云帆金桥新源瑞丰宏达博远天成中孚恒信长虹鼎盛安泰"
CN_SUFFIX = ["物流", "餐饮", "制造", "教育", "零售", "医药", "商贸", "科技", "超市", "酒店"]
EN_FIRST = ["North", "Blue", "Green", "Silver", "Acme", "Bright", "Rapid", "Union", "Pacific", "Summit", "Harbor"]
EN_SECOND = ["wind", "sky", "field", "stone", "line", "way", "point", "bridge", "gate", "leaf"]
EN_KIND = ["Traders", "Retail", "Travel", "Foods", "Logistics", "Pharmacy", "Hotels", "Labs", "Outfitters"]
CST = timezone(timedelta(hours=8))


def customer_names(rng: random.Random, count: int) -> list[tuple[str, bool]]:
    """(name, is_chinese) for ``count`` distinct customers."""
    names: list[tuple[str, bool]] = []
    for i in range(count):
        if rng.random() < 0.55:
            a, b = rng.choice(CN_PREFIX), rng.choice(CN_PREFIX)
            names.append((f"{a}{b}{rng.choice(CN_SUFFIX)}{i}号", True))
        else:
            name = f"{rng.choice(EN_FIRST)}{rng.choice(EN_SECOND)} {rng.choice(EN_KIND)} {i}"
            names.append((name, False))
    return names


def stamp(moment: datetime, chinese: bool) -> str:
    return moment.astimezone(CST if chinese else UTC).isoformat()


def generate(rows: int, seed: int, out: Path) -> None:
    rng = random.Random(seed)
    n_customers = max(20, rows // 20)
    customers = customer_names(rng, n_customers)
    # a few busy customers, a long tail of quiet ones (Pareto-ish weights), chosen by cumulative weights
    weights = [1.0 / (1 + i) ** 0.6 for i in range(n_customers)]
    cumulative: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    categories = list(CATEGORIES)
    category_weights = [1.0 / (1 + i) ** 0.9 for i in range(len(categories))]
    agents = [f"agent{i:03d}" for i in range(120)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        choices = rng.choices
        for i in range(rows):
            customer, chinese = customers[choices(range(n_customers), cum_weights=cumulative)[0]]
            category = choices(categories, weights=category_weights)[0]
            objects_zh, objects_en = CATEGORIES[category]
            k = rng.randrange(len(objects_zh))
            p = rng.randrange(len(PROBLEMS_ZH))
            n = rng.randrange(1, 9999)
            if chinese:
                subject = objects_zh[k] + PROBLEMS_ZH[p] + rng.choice(CONTEXT_ZH).format(n=n)
                description = subject + "。" + rng.choice(DETAIL_ZH) + rng.choice(DETAIL_ZH)
            else:
                subject = objects_en[k].capitalize() + " " + PROBLEMS_EN[p] + rng.choice(CONTEXT_EN).format(n=n)
                description = subject + ". " + rng.choice(DETAIL_EN) + " " + rng.choice(DETAIL_EN)
            tags = [category.split("-")[0]]
            if rng.random() < 0.3:
                tags.append(rng.choice(TAGS))
            created = END - timedelta(seconds=int(SPAN_SECONDS * (1 - rng.random() ** 1.3)))
            first = created + timedelta(seconds=int(rng.expovariate(1 / 5400)) + 60)
            roll = rng.random()
            if roll < 0.85:
                status = "closed"
            elif roll < 0.90:
                status = "resolved"
            elif roll < 0.95:
                status = "pending"
            else:
                status = "open"
            resolved = closed = ""
            if status in ("closed", "resolved"):
                done = first + timedelta(seconds=int(rng.expovariate(1 / 86400)) + 300)
                resolved = stamp(done, chinese)
                if status == "closed":
                    closed = stamp(done + timedelta(seconds=rng.randrange(3600, 4 * 86400)), chinese)
            writer.writerow(
                [
                    f"T{i + 1:07d}",
                    customer,
                    subject,
                    description,
                    category,
                    ";".join(tags),
                    status,
                    stamp(created, chinese),
                    stamp(first, chinese),
                    resolved,
                    closed,
                    rng.choice(agents),
                    rng.choice(GROUPS),
                    rng.choice(CHANNELS),
                ]
            )


def ensure_csv(rows: int, seed: int, out: Path) -> Path:
    """The generated CSV at ``out``, made once and reused by later benchmark runs.

    Written under a temporary name and renamed, so an interrupted run never leaves a short file to be reused.
    """
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        generate(rows, seed, partial)
        os.replace(partial, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/work/tickets_1m.csv"))
    args = parser.parse_args()
    start = time.perf_counter()
    generate(args.rows, args.seed, args.output)
    size = args.output.stat().st_size / 1e6
    print(
        f"wrote {args.rows:,} tickets to {args.output} ({size:.0f} MB) in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
