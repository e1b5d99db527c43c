// Live Haier data back in Haier's ORIGINAL field names (as the original REST API answered):
// productGroupNamd, productLageUrls, isSales "1"/"0", decimals as strings (pure).
import type { gateway } from '@haier-sync/contracts';

export function productOut(p: gateway.Product) {
  return {
    productCode: p.productCode,
    productModel: p.productModel,
    productName: p.productName,
    productGroupNamd: p.productGroupName,
    productBrandName: p.productBrandName,
    productImageUrl: p.productImageUrl,
    productLageUrls: [...p.productPageUrls],
    isSales: p.isSales ? '1' : '0',
    noSalesReason: p.noSalesReason,
  };
}

export function priceOut(p: gateway.Price) {
  return {
    productCode: p.productCode,
    supplyPrice: p.supplyPrice ?? null,
    invoicePrice: p.invoicePrice ?? null,
    marketPrice: p.marketPrice ?? null,
    // Haier's spec uses stockRebatePolicy both for the rate and, non-numeric, for a rebate type
    stockRebatePolicy: p.stockRebatePolicy !== '' ? p.stockRebatePolicy : p.rebateType !== '' ? p.rebateType : null,
    rebateMoney: p.rebateMoney !== '' ? p.rebateMoney : null,
    reason: p.reason,
    isSales: p.isSales ? '1' : '0',
  };
}

function warehouseOut(w: gateway.Warehouse) {
  return {
    secCode: w.secCode,
    stock: Number(w.stock),
    warehouseGrade: w.warehouseGrade,
    timelinessData: {
      cutTime: w.cutTime,
      achieveUserOrderCut: w.achieveUserOrderCut,
      hour: w.hour,
      isTranfer: w.isTransfer ? '1' : '0',
    },
  };
}

export function stockOut(s: gateway.Stock | undefined, productCode: string, countyCode: string) {
  return {
    productCode: s?.productCode || productCode,
    countyCode: s?.countyCode || countyCode,
    stock: Number(s?.quantity ?? 0n),
    bestSecCode: s?.best?.secCode ?? '',
    warehouses: (s?.warehouses ?? []).map(warehouseOut),
  };
}

export function balanceOut(b: gateway.PayerBalance) {
  return {
    saleGroupCode: b.saleGroupCode,
    saleGroupName: b.saleGroupName,
    payerAccountCode: b.payerAccountCode,
    payerAccountName: b.payerAccountName,
    payerAccountBalance: b.payerAccountBalance,
  };
}

export function logisticsOut(r: gateway.GetLogisticsResponse) {
  return {
    getAllLogisticsInfoByOrderCode: r.allLogisticsInfo,
    getStockDeliveryLogisticsRecord: r.stockDeliveryRecords,
    getStockDeliveryLogisticsRecordThirdparty: r.thirdPartyRecords,
  };
}
